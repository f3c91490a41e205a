//! Process-level tests: each one runs the real `mediagate` binary on a free port of 127.0.0.1, with its
//! own small RTC port range, and drives it over HTTP like a client would. The media tests add real peers
//! (FFmpeg, GStreamer, Chromium, Firefox), each run inside its own network namespace ([`netns`]).

mod browser;
mod browser_data;
mod browser_impairment;
mod browser_interop;
mod data_sctp;
mod impair;
mod leak;
mod media_ffmpeg;
mod media_peers;
mod media_robustness;
mod media_whip;
mod netns;
mod openapi;
mod peers;
mod shutdown;
mod startup;
mod support;
mod walkthrough;
