//! `rrn run`: the daemon. Placeholder replaced below.
pub fn run(_config: Option<&std::path::Path>) -> anyhow::Result<String> {
    anyhow::bail!("not yet")
}
