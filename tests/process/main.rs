//! Process-level tests: each one runs the real `mediagate` binary on a free port of 127.0.0.1, with its
//! own small RTC port range, and drives it over HTTP like a client would.

mod leak;
mod openapi;
mod shutdown;
mod startup;
mod support;
mod walkthrough;
