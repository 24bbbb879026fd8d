//! Emails: a planned [`Email`] rendered with the partnership's templates into a message, and the
//! transports that carry it (a maildir folder, or SMTP). The imports run one way:
//! error <- smtp <- transport, and error <- render <- ics; render <- words (the first
//! sentence and the subject) and render <- wrap (the plain text's lines).

mod error;
mod ics;
mod ids;
mod mistake;
mod render;
mod secret;
pub mod smtp;
mod transport;
mod words;
mod wrap;

pub use error::{MailError, SendError};
pub use ids::id_part;
pub use render::{FailureReport, RelayFault, Renderer, sample_email};
pub use transport::Mailer;
pub use words::SUBJECT_LIMIT;
pub use wrap::{WIDTH, wrap};
