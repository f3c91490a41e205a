//! Data-path scenarios on virtual time: an SCTP endpoint (our `sctp` module in the client role, standing
//! in for node-sctp or a data bot) over a comedia plain transport, and HTTP clients on direct transports.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::tests::{drain, join, router};
use super::*;
use crate::net::{Outbox, SocketRef};
use crate::sctp::{
    PPID_BINARY, PPID_STRING, Reliability, SctpAssociation, SctpConfig, SctpEvent, SctpRole,
};
use crate::sctp_parameters::{SctpParameters, SctpStreamParameters};
use crate::transport_parameters::SctpState;

const CLIENT: &str = "127.0.0.1:7000";
const SCTP_SOCKET: SocketRef = SocketRef(30);
const MAX_MESSAGE: u32 = 4096;

struct Scenario {
    router: Router,
    out: Outbox,
    now: Instant,
    /// The SCTP endpoint behind the plain transport.
    client: SctpAssociation,
    /// Alice's comedia plain transport with SCTP, and Bob's direct transport.
    plain: TransportId,
    direct: TransportId,
    alice: BroadcasterId,
    bob: BroadcasterId,
    /// Drop what the router sends to the client (a reader that stopped acknowledging).
    deaf: bool,
    client_events: Vec<SctpEvent>,
}

impl Scenario {
    fn new() -> Self {
        Self::build(MAX_MESSAGE, true)
    }

    /// `belief`: the largest message the client thinks the router takes.
    fn with_client_belief(belief: u32) -> Self {
        Self::build(belief, true)
    }

    /// `comedia`: the plain transport latches the client; otherwise it is connected to it first.
    fn build(belief: u32, comedia: bool) -> Self {
        let mut router = router();
        let alice = join(&mut router, "alice", false);
        let bob = join(&mut router, "bob", false);
        let plain = TransportId::new_random();
        let mut setup = super::media_tests::plain_setup(comedia, SCTP_SOCKET, SocketRef(31));
        if let TransportSetup::Plain(p) = &mut setup {
            p.rtcp_mux = true;
            p.rtcp_tuple = None;
            p.rtcp_socket = None;
            p.sctp_parameters = Some(SctpParameters {
                port: 5000,
                os: 16,
                mis: 16,
                max_message_size: MAX_MESSAGE,
            });
        }
        router.create_transport(&alice, plain, setup).unwrap();
        if !comedia {
            let client: SocketAddr = CLIENT.parse().unwrap();
            router
                .connect_transport(
                    plain,
                    ConnectParameters {
                        ip: Some(client.ip()),
                        port: Some(client.port()),
                        ..Default::default()
                    },
                )
                .unwrap();
        }
        let direct = super::tests::direct(&mut router, &bob);
        let now = Instant::now();
        let config = SctpConfig {
            os: 16,
            mis: 16,
            max_message_size: 262_144,
            remote_max_message_size: belief,
            ..SctpConfig::default()
        };
        let client = SctpAssociation::new(config, SctpRole::Client, now).unwrap();
        let mut s = Self {
            router,
            out: Outbox::new(),
            now,
            client,
            plain,
            direct,
            alice,
            bob,
            deaf: false,
            client_events: Vec::new(),
        };
        s.run(Duration::from_millis(200));
        assert_eq!(s.client.state(), SctpState::Connected);
        s
    }

    /// Moves packets both ways until both sides are quiet, then advances time by `span` in 10 ms steps.
    fn run(&mut self, span: Duration) {
        let end = self.now + span;
        loop {
            self.exchange();
            if self.now >= end {
                break;
            }
            self.now += Duration::from_millis(10);
            if self.client.poll_timeout().is_some_and(|t| t <= self.now) {
                self.client.handle_timeout(self.now);
            }
        }
    }

    fn exchange(&mut self) {
        let from: SocketAddr = CLIENT.parse().unwrap();
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(mut packet) = self.client.poll_transmit(self.now) {
                self.router.handle_datagram(
                    self.now,
                    self.plain,
                    SCTP_SOCKET,
                    from,
                    &mut packet,
                    &mut self.out,
                );
                moved = true;
            }
            if self.router.poll_timeout().is_some_and(|t| t <= self.now) {
                self.router
                    .handle_timeout(self.now, Duration::ZERO, &mut self.out);
            }
            let sent: Vec<Vec<u8>> = self
                .out
                .transmits()
                .iter()
                .filter(|t| t.destination == from)
                .map(|t| t.bytes().to_vec())
                .collect();
            self.out.clear();
            for packet in sent {
                moved = true;
                if !self.deaf {
                    self.client.handle_packet(self.now, &packet);
                }
            }
            while let Some(event) = self.client.poll_event() {
                self.client_events.push(event);
            }
            if !moved {
                return;
            }
        }
        panic!("the two sides never went quiet");
    }

    fn data_producer(
        &mut self,
        transport: TransportId,
        params: Option<SctpStreamParameters>,
    ) -> DataProducerId {
        let id = DataProducerId::new_random();
        self.router
            .produce_data(
                transport,
                id,
                DataProducerOptions {
                    sctp_stream_parameters: params,
                    label: "chat".to_owned(),
                    protocol: String::new(),
                    paused: false,
                },
            )
            .unwrap();
        id
    }

    fn data_consumer(
        &mut self,
        transport: TransportId,
        producer: DataProducerId,
    ) -> DataConsumerInfo {
        self.router
            .consume_data(
                transport,
                DataConsumerId::new_random(),
                DataConsumerOptions {
                    data_producer_id: producer,
                    ordered: None,
                    max_packet_life_time: None,
                    max_retransmits: None,
                    paused: false,
                },
            )
            .unwrap()
    }

    /// Messages the router handed to direct consumers: (consumer, ppid, bytes).
    fn direct_messages(&mut self) -> Vec<(DataConsumerId, u32, Vec<u8>)> {
        drain(&mut self.router)
            .into_iter()
            .filter_map(|e| match e {
                RouterEvent::DataConsumerMessage {
                    data_consumer_id,
                    ppid,
                    data,
                    ..
                } => Some((data_consumer_id, ppid, data)),
                _ => None,
            })
            .collect()
    }

    fn client_messages(&mut self) -> Vec<(u16, u32, Vec<u8>)> {
        std::mem::take(&mut self.client_events)
            .into_iter()
            .filter_map(|e| match e {
                SctpEvent::Message {
                    stream_id,
                    ppid,
                    data,
                } => Some((stream_id, ppid, data)),
                _ => None,
            })
            .collect()
    }
}

fn ordered(stream_id: u16) -> Option<SctpStreamParameters> {
    Some(SctpStreamParameters {
        stream_id,
        ordered: Some(true),
        ..Default::default()
    })
}

#[test]
fn the_association_comes_up_over_comedia_and_is_reported() {
    let mut s = Scenario::new();
    let info = s.router.transport(s.plain).unwrap();
    let TransportInfo::Plain(info) = info else {
        panic!("plain transport expected")
    };
    assert_eq!(info.sctp_state, Some(SctpState::Connected));
    assert!(
        info.connected,
        "the first SCTP packet latched the remote tuple"
    );
    assert_eq!(info.tuple.remote_port, Some(7000));
    let events = drain(&mut s.router);
    let states: Vec<SctpState> = events
        .iter()
        .filter_map(|e| match e {
            RouterEvent::TransportSctpStateChanged {
                transport_id,
                sctp_state,
                broadcaster_id,
            } if *transport_id == s.plain && *broadcaster_id == s.alice => Some(*sctp_state),
            _ => None,
        })
        .collect();
    assert_eq!(states, vec![SctpState::Connecting, SctpState::Connected]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RouterEvent::TransportTuple { .. }))
    );
}

#[test]
fn sctp_runs_on_a_connected_plain_transport_and_strangers_are_dropped() {
    let mut s = Scenario::build(MAX_MESSAGE, false);
    let producer = s.data_producer(s.plain, ordered(5));
    let consumer = s.data_consumer(s.direct, producer);
    s.client.add_channel(5, true, Reliability::Reliable);
    s.client.send(s.now, 5, PPID_STRING, b"connected").unwrap();
    s.run(Duration::from_millis(100));
    assert_eq!(
        s.direct_messages(),
        vec![(consumer.id, PPID_STRING, b"connected".to_vec())]
    );
    // The same SCTP packet from another address: dropped at the source check, before the association.
    s.client.send(s.now, 5, PPID_STRING, b"stranger").unwrap();
    let mut packet = s.client.poll_transmit(s.now).expect("a DATA packet");
    let before = s.router.transport_stats(s.plain).unwrap();
    s.router.handle_datagram(
        s.now,
        s.plain,
        SCTP_SOCKET,
        "127.0.0.1:7001".parse().unwrap(),
        &mut packet,
        &mut s.out,
    );
    let after = s.router.transport_stats(s.plain).unwrap();
    assert_eq!(
        after.dropped_unexpected_source,
        before.dropped_unexpected_source + 1
    );
    assert_eq!(after.dropped_sctp, before.dropped_sctp);
    assert!(s.direct_messages().is_empty());
}

#[test]
fn two_hundred_messages_reach_a_direct_consumer_in_order_with_their_ppids() {
    let mut s = Scenario::new();
    let producer = s.data_producer(s.plain, ordered(123 % 16));
    let consumer = s.data_consumer(s.direct, producer);
    assert_eq!(consumer.r#type, DataType::Direct);
    assert_eq!(consumer.sctp_stream_parameters, None);
    s.client.add_channel(123 % 16, true, Reliability::Reliable);
    drain(&mut s.router);
    for i in 0..200u32 {
        if i % 2 == 0 {
            let text = format!("msg-{i}");
            s.client
                .send(s.now, 123 % 16, PPID_STRING, text.as_bytes())
                .unwrap();
        } else {
            s.client
                .send(s.now, 123 % 16, PPID_BINARY, &i.to_be_bytes())
                .unwrap();
        }
        if i % 20 == 19 {
            s.run(Duration::from_millis(20));
        }
    }
    s.run(Duration::from_millis(500));
    let got = s.direct_messages();
    assert_eq!(got.len(), 200);
    for (i, (c, ppid, data)) in got.into_iter().enumerate() {
        assert_eq!(c, consumer.id);
        if i % 2 == 0 {
            assert_eq!((ppid, data), (PPID_STRING, format!("msg-{i}").into_bytes()));
        } else {
            assert_eq!(
                (ppid, data),
                (PPID_BINARY, (i as u32).to_be_bytes().to_vec())
            );
        }
    }
    let stats = s.router.data_producer_stats(producer).unwrap();
    assert_eq!(stats.messages_received, 200);
    let consumer_stats = s.router.data_consumer_stats(consumer.id).unwrap();
    assert_eq!(consumer_stats.messages_sent, 200);
    assert_eq!(consumer_stats.messages_dropped, 0);
}

#[test]
fn http_messages_reach_the_sctp_endpoint_on_the_allocated_stream() {
    let mut s = Scenario::new();
    let producer = s.data_producer(s.direct, None);
    let consumer = s.data_consumer(s.plain, producer);
    let params = consumer
        .sctp_stream_parameters
        .expect("an sctp consumer has a stream");
    assert_eq!(
        params.ordered,
        Some(true),
        "a direct producer's consumers are ordered"
    );
    s.client
        .add_channel(params.stream_id, true, Reliability::Reliable);
    for i in 0..50 {
        let text = format!("hello {i}");
        s.router
            .send_data_message(s.now, producer, PPID_STRING, text.as_bytes())
            .unwrap();
    }
    s.router
        .send_data_message(s.now, producer, PPID_BINARY, &[])
        .unwrap();
    s.run(Duration::from_millis(300));
    let got = s.client_messages();
    assert_eq!(got.len(), 51);
    for (i, (stream, ppid, data)) in got.iter().take(50).enumerate() {
        assert_eq!(*stream, params.stream_id);
        assert_eq!(*ppid, PPID_STRING);
        assert_eq!(data, format!("hello {i}").as_bytes());
    }
    assert_eq!(got[50].1, crate::sctp::PPID_BINARY_EMPTY);
    assert!(got[50].2.is_empty());
}

#[test]
fn http_messages_are_checked_against_the_direct_transport() {
    let mut s = Scenario::new();
    let on_sctp = s.data_producer(s.plain, ordered(1));
    assert_eq!(
        s.router
            .send_data_message(s.now, on_sctp, PPID_STRING, b"x"),
        Err(SendDataError::NotDirect(on_sctp))
    );
    let producer = s.data_producer(s.direct, None);
    let big = vec![b'a'; 262_145];
    assert_eq!(
        s.router
            .send_data_message(s.now, producer, PPID_STRING, &big),
        Err(SendDataError::TooLarge {
            size: 262_145,
            max: 262_144
        })
    );
    assert_eq!(
        s.router.send_data_message(s.now, producer, 50, b"x"),
        Err(SendDataError::InvalidPpid(50))
    );
    assert!(matches!(
        s.router.produce_data(
            s.direct,
            DataProducerId::new_random(),
            DataProducerOptions {
                sctp_stream_parameters: ordered(2),
                label: String::new(),
                protocol: String::new(),
                paused: false,
            }
        ),
        Err(ProduceDataError::StreamParametersOnDirect)
    ));
    assert!(matches!(
        s.router.produce_data(
            s.plain,
            DataProducerId::new_random(),
            DataProducerOptions {
                sctp_stream_parameters: None,
                label: String::new(),
                protocol: String::new(),
                paused: false,
            }
        ),
        Err(ProduceDataError::StreamParametersRequired)
    ));
}

#[test]
fn the_endpoint_refuses_more_than_the_router_announced() {
    let mut s = Scenario::new();
    let producer = s.data_producer(s.plain, ordered(2));
    let _consumer = s.data_consumer(s.direct, producer);
    s.client.add_channel(2, true, Reliability::Reliable);
    // The client was told the router takes 4096 bytes at most: its own check refuses more.
    assert!(matches!(
        s.client
            .send(s.now, 2, PPID_BINARY, &vec![1; MAX_MESSAGE as usize + 1]),
        Err(crate::sctp::SctpSendError::TooLarge { .. })
    ));
    s.client.send(s.now, 2, PPID_STRING, b"fits").unwrap();
    s.run(Duration::from_millis(100));
    assert_eq!(s.direct_messages().len(), 1);
}

#[test]
fn a_message_above_the_announced_maximum_is_dropped_and_the_association_stays_up() {
    // A peer that ignores the announced maximum: the router drops the message, counts it, stays up.
    let mut s = Scenario::with_client_belief(1 << 20);
    let producer = s.data_producer(s.plain, ordered(2));
    let consumer = s.data_consumer(s.direct, producer);
    s.client.add_channel(2, true, Reliability::Reliable);
    s.client
        .send(s.now, 2, PPID_BINARY, &vec![1; MAX_MESSAGE as usize + 1])
        .unwrap();
    s.run(Duration::from_millis(200));
    assert!(s.direct_messages().is_empty());
    s.client.send(s.now, 2, PPID_STRING, b"after").unwrap();
    s.run(Duration::from_millis(100));
    let got = s.direct_messages();
    assert_eq!(got, vec![(consumer.id, PPID_STRING, b"after".to_vec())]);
    assert_eq!(
        s.router
            .data_producer_stats(producer)
            .unwrap()
            .messages_received,
        1
    );
    assert_eq!(
        s.router.transport(s.plain).map(|t| match t {
            TransportInfo::Plain(p) => p.sctp_state,
            _ => None,
        }),
        Ok(Some(SctpState::Connected))
    );
}

#[test]
fn a_slow_sctp_reader_loses_messages_alone() {
    let mut s = Scenario::new();
    let producer = s.data_producer(s.direct, None);
    let slow = s.data_consumer(s.plain, producer);
    let fast = s.data_consumer(s.direct, producer);
    let stream = slow.sctp_stream_parameters.unwrap().stream_id;
    s.client.add_channel(stream, true, Reliability::Reliable);
    // The SCTP reader stops acknowledging: its stream fills up to the send buffer and then drops.
    s.deaf = true;
    let chunk = vec![7u8; 4000];
    for _ in 0..100 {
        s.router
            .send_data_message(s.now, producer, PPID_BINARY, &chunk)
            .unwrap();
        s.run(Duration::from_millis(10));
    }
    let slow_stats = s.router.data_consumer_stats(slow.id).unwrap();
    let fast_stats = s.router.data_consumer_stats(fast.id).unwrap();
    assert_eq!(
        fast_stats.messages_sent, 100,
        "the direct consumer got everything"
    );
    assert_eq!(fast_stats.messages_dropped, 0);
    assert!(
        slow_stats.messages_dropped > 0,
        "the deaf reader's buffer must overflow: {slow_stats:?}"
    );
    assert_eq!(slow_stats.messages_sent + slow_stats.messages_dropped, 100);
    assert!(slow_stats.buffered_amount <= super::sctp_link::DEFAULT_SEND_BUFFER_SIZE as u64);
    assert_eq!(s.direct_messages().len(), 100);
}

#[test]
fn pausing_drops_and_closing_cascades_with_events() {
    let mut s = Scenario::new();
    let producer = s.data_producer(s.direct, None);
    let consumer = s.data_consumer(s.direct, producer);
    drain(&mut s.router);
    s.router.set_data_producer_paused(producer, true).unwrap();
    let events = drain(&mut s.router);
    assert!(events.iter().any(|e| matches!(
        e,
        RouterEvent::DataConsumerDataProducerPaused { data_consumer_id, .. } if *data_consumer_id == consumer.id
    )));
    s.router
        .send_data_message(s.now, producer, PPID_STRING, b"dropped")
        .unwrap();
    assert!(s.direct_messages().is_empty());
    assert_eq!(
        s.router
            .data_producer_stats(producer)
            .unwrap()
            .messages_dropped,
        1
    );
    s.router.set_data_producer_paused(producer, false).unwrap();
    s.router
        .set_data_consumer_paused(consumer.id, true)
        .unwrap();
    s.router
        .send_data_message(s.now, producer, PPID_STRING, b"skipped")
        .unwrap();
    assert!(s.direct_messages().is_empty());
    s.router
        .set_data_consumer_paused(consumer.id, false)
        .unwrap();
    s.router
        .send_data_message(s.now, producer, PPID_STRING, b"delivered")
        .unwrap();
    assert_eq!(s.direct_messages().len(), 1);
    s.router.close_data_producer(producer).unwrap();
    let events = drain(&mut s.router);
    assert!(events.iter().any(|e| matches!(
        e,
        RouterEvent::DataConsumerClosed { data_consumer_id, reason: CloseReason::DataProducerClosed, .. }
            if *data_consumer_id == consumer.id
    )));
    assert_eq!(
        s.router.data_consumer(consumer.id),
        Err(NotFound::DataConsumer(consumer.id))
    );
    let _ = &s.bob;
}
