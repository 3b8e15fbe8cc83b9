//! Reading the mood of what people write as their events arrive. A thread of its own scores
//! each text (VADER) while the writer is busy with the events before, so a batch finds its
//! scores ready instead of waiting for them.

use std::collections::HashMap;
use std::sync::mpsc;

use keel_chat::Inbound;
use tokio::sync::oneshot;

/// A text and its sentiment score.
type Scored = (String, f64);

/// The scoring thread's door. Cheap to clone; the thread ends when the last clone is dropped.
#[derive(Clone)]
pub(super) struct Moods {
    queue: mpsc::Sender<(String, oneshot::Sender<Scored>)>,
}

impl Moods {
    /// Starts the thread, which first loads the readers' word lists and patterns, so the first
    /// message read pays nothing extra.
    pub fn start() -> Moods {
        let (queue, texts) = mpsc::channel::<(String, oneshot::Sender<Scored>)>();
        let spawned = std::thread::Builder::new().name("keel-moods".into()).spawn(move || {
            crate::capture::warm();
            while let Ok((text, reply)) = texts.recv() {
                let score = crate::capture::sentiment(&text);
                let _ = reply.send((text, score));
            }
        });
        if let Err(e) = spawned {
            // Nothing is lost: each text is then scored as its event is handled.
            tracing::warn!(error = %e, "cannot start the thread that reads moods ahead");
        }
        Moods { queue }
    }

    /// Asks for the score of what the event asks to be read, when it asks for any.
    pub fn ask(&self, inbound: &Inbound) -> Option<oneshot::Receiver<Scored>> {
        let text = super::batch::text_to_read(inbound)?;
        let (reply, answer) = oneshot::channel();
        self.queue.send((text, reply)).ok()?;
        Some(answer)
    }
}

/// The scores asked for, once all are in, by text. One the thread could not give is left out:
/// capture then scores that text itself.
pub(super) async fn gather(asked: Vec<oneshot::Receiver<Scored>>) -> HashMap<String, f64> {
    let mut scores = HashMap::with_capacity(asked.len());
    for answer in asked {
        if let Ok((text, score)) = answer.await {
            scores.insert(text, score);
        }
    }
    scores
}
