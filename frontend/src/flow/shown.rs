//! What the view shows of the flow: the notice in force, the buttons with their labels and
//! whether they can be pressed, the countdown line. Decided here, beside the state, so the view
//! only renders.

use super::{Busy, Button, Flow, Notice, Recovery, Tone, clock};
use crate::words::{self, Slot};

impl Flow {
    /// The message to show now: the notice, or once the code has run out on this clock (and
    /// nothing said so yet), that it has.
    pub fn shown_notice(&self, now_ms: f64) -> Option<Notice> {
        if self.is_expired(now_ms) && !self.code_dead() {
            return Some(Notice {
                tone: Tone::Error,
                text: self.words.text(words::REFUSAL_EXPIRED).to_string(),
                recovery: Recovery::NewCode,
            });
        }
        self.notice.clone()
    }

    /// The button a notice offers as its way forward, counting down while requests are refused.
    pub fn recovery_button(&self, notice: &Notice, now_ms: f64) -> Option<Button> {
        let blocked = self.blocked_in(now_ms);
        let (now, later) = match notice.recovery {
            Recovery::None => return None,
            Recovery::NewCode => (words::UI_NEW_CODE, words::UI_NEW_CODE_IN),
            Recovery::Retry => (words::UI_TRY_AGAIN, words::UI_TRY_AGAIN_IN),
        };
        let label = if blocked > 0 {
            self.words.say(later, &clock(blocked))
        } else {
            self.words.text(now).to_string()
        };
        Some(Button {
            label,
            enabled: self.busy == Busy::Idle && blocked == 0,
        })
    }

    /// "Resend code", with its wait or what is left.
    pub fn resend_button(&self, now_ms: f64) -> Button {
        let resend_in = self.resend_in(now_ms);
        let label = match self.challenge() {
            _ if self.busy == Busy::Resending && self.paying() => {
                self.words.text(words::UI_WORKING).to_string()
            }
            _ if self.busy == Busy::Resending => self.words.text(words::UI_SENDING).to_string(),
            Some(challenge) if challenge.sends_left == 0 => {
                self.words.text(words::UI_NO_RESENDS).to_string()
            }
            _ if resend_in > 0 => self.words.say(words::UI_RESEND_IN, &clock(resend_in)),
            Some(challenge) => self
                .words
                .count(words::UI_RESEND_LEFT, u64::from(challenge.sends_left)),
            None => String::new(),
        };
        Button {
            label,
            enabled: self.can_resend(now_ms),
        }
    }

    /// The line under the code field: the time left, or that it ran out.
    pub fn expiry_line(&self, now_ms: f64) -> String {
        if self.is_expired(now_ms) {
            self.words.text(words::UI_EXPIRED).to_string()
        } else {
            self.words
                .say(words::UI_EXPIRES_IN, &clock(self.expires_in(now_ms)))
        }
    }

    /// The label of a step's main button: its action, or what is under way (a send still
    /// solving its proof of work says it is working).
    pub fn main_label(&self, action: Slot, busy: Busy, busy_label: Slot) -> &'static str {
        self.words.text(match () {
            () if self.busy != busy => action,
            () if self.paying() => words::UI_WORKING,
            () => busy_label,
        })
    }
}
