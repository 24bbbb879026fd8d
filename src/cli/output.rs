//! Where a command's output goes: a handler writes it to the `&mut dyn Write` it is given
//! (stdout in `main`, a `Vec<u8>` in a test) as it goes, and returns only how it ended.

use std::io::{BufWriter, Write};

use serde::Serialize;

use super::CliError;

/// Writes `text` to the command's output.
pub(super) fn print(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes()).map_err(not_written)
}

/// Writes `value` to the command's output as pretty JSON, and a newline.
pub(super) fn print_json(out: &mut dyn Write, value: &impl Serialize) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, value)
        .map_err(|e| CliError::Failed(anyhow::Error::new(e).context("writing the output")))?;
    print(out, "\n")
}

/// A write to the command's output that failed.
pub(super) fn not_written(error: std::io::Error) -> CliError {
    CliError::Failed(anyhow::Error::new(error).context("writing the output"))
}

/// The process's stdout as `main` hands it to a command: buffered, and quiet when a write
/// fails. A reader that has gone (`rrn plan | head -1`) is not worth reporting, and it must not
/// turn a command that did its work into a failed one; after the first failed write the rest
/// of the output is dropped. (Other write errors are not reported either, as before handlers
/// wrote here: stdout is not where the command's work is.)
pub struct Stdout<W: Write = std::io::Stdout> {
    /// `None` once a write has failed.
    inner: Option<BufWriter<W>>,
}

impl Stdout {
    pub fn new() -> Self {
        Stdout::over(std::io::stdout())
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: Write> Stdout<W> {
    fn over(writer: W) -> Self {
        Stdout {
            inner: Some(BufWriter::new(writer)),
        }
    }

    /// Drops what is still buffered, without writing it.
    fn close(&mut self) {
        if let Some(inner) = self.inner.take() {
            let _ = inner.into_parts();
        }
    }
}

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(inner) = &mut self.inner
            && inner.write_all(buf).is_err()
        {
            self.close();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(inner) = &mut self.inner
            && inner.flush().is_err()
        {
            self.close();
        }
        Ok(())
    }
}

impl<W: Write> Drop for Stdout<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use clap::Parser as _;

    use super::Stdout;
    use crate::cli::{Cli, run};

    /// A pipe whose reader goes away after `open` bytes.
    struct Pipe {
        open: usize,
        read: Vec<u8>,
        writes_after_closing: usize,
    }

    impl Write for &mut Pipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.read.len() >= self.open {
                self.writes_after_closing += 1;
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.open - self.read.len());
            self.read.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_ends_the_output_quietly() {
        let mut pipe = Pipe {
            open: 10,
            read: Vec::new(),
            writes_after_closing: 0,
        };
        let mut out = Stdout::over(&mut pipe);
        for _ in 0..10_000 {
            out.write_all(b"a line of the plan\n").unwrap();
        }
        out.flush().unwrap();
        drop(out);
        assert_eq!(pipe.read, b"a line of ");
        // One failed write closes it: the rest is not even tried.
        assert_eq!(pipe.writes_after_closing, 1);
    }

    #[test]
    fn a_command_writes_to_the_writer_it_is_given() {
        let cli = Cli::try_parse_from(["rrn", "calendar", "holidays", "2026"]).unwrap();
        let mut out = Vec::new();
        run(cli, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("2026-12-25\tChristmas Day\n"), "{out}");
    }
}
