//! From room events to event streams: who must learn what, and the id index kept in step with closes.
//!
//! The rule (mediasoup's): an action never produces an event on the actor's own object. An object closed by
//! a request on itself (`closed by request`) is reported to others only; whatever closed in cascade is
//! reported to its owner too. Room-level events about a broadcaster's own action (it joined, produced,
//! paused) go to the room stream and every other broadcaster's stream.

use mediagate_engine::ids::RoomId;
use mediagate_engine::router::{CloseReason, RouterEvent};

use super::Control;
use crate::events::{self as event, Event};

impl Control {
    /// Publishes the events a command caused and forgets the ids of objects that closed.
    pub(super) fn publish(&self, room: &RoomId, events: Vec<RouterEvent>) {
        if events.is_empty() {
            return;
        }
        let hub = &self.inner.events;
        let mut left = Vec::new();
        let mut closed_transports = Vec::new();
        {
            let mut index = self.index();
            for event in &events {
                match event {
                    RouterEvent::TransportClosed {
                        transport_id,
                        reason,
                        ..
                    } => {
                        index.objects.remove(&transport_id.as_uuid());
                        closed_transports.push((*transport_id, *reason));
                    }
                    RouterEvent::ProducerClosed { producer_id, .. } => {
                        index.objects.remove(&producer_id.as_uuid());
                    }
                    RouterEvent::ConsumerClosed { consumer_id, .. } => {
                        index.objects.remove(&consumer_id.as_uuid());
                    }
                    RouterEvent::DataProducerClosed {
                        data_producer_id, ..
                    } => {
                        index.objects.remove(&data_producer_id.as_uuid());
                    }
                    RouterEvent::DataConsumerClosed {
                        data_consumer_id, ..
                    } => {
                        index.objects.remove(&data_consumer_id.as_uuid());
                    }
                    _ => {}
                }
            }
        }
        if !closed_transports.is_empty() {
            self.whip_transports_closed(&closed_transports);
        }
        for event in events {
            let by_request = |reason: CloseReason| reason == CloseReason::Request;
            match event {
                RouterEvent::BroadcasterJoined {
                    broadcaster_id,
                    display_name,
                    device,
                } => hub.publish_room_except(
                    room,
                    Event::BroadcasterJoined(event::BroadcasterJoined {
                        broadcaster_id: broadcaster_id.clone(),
                        display_name,
                        device,
                    }),
                    Some(&broadcaster_id),
                ),
                RouterEvent::BroadcasterLeft {
                    broadcaster_id,
                    reason,
                } => {
                    hub.publish_room_except(
                        room,
                        Event::BroadcasterLeft(event::BroadcasterLeft {
                            broadcaster_id: broadcaster_id.clone(),
                            reason,
                        }),
                        by_request(reason).then_some(&broadcaster_id),
                    );
                    left.push(broadcaster_id);
                }
                RouterEvent::TransportClosed {
                    broadcaster_id,
                    transport_id,
                    reason,
                } => {
                    if !by_request(reason) {
                        hub.publish_broadcaster(
                            room,
                            &broadcaster_id,
                            Event::TransportClosed(event::TransportClosed {
                                transport_id,
                                reason,
                            }),
                        );
                    }
                }
                RouterEvent::ProducerAdded {
                    broadcaster_id,
                    producer_id,
                    kind,
                    paused,
                } => hub.publish_room_except(
                    room,
                    Event::ProducerAdded(event::ProducerAdded {
                        producer_id,
                        broadcaster_id: broadcaster_id.clone(),
                        kind,
                        paused,
                    }),
                    Some(&broadcaster_id),
                ),
                RouterEvent::ProducerClosed {
                    broadcaster_id,
                    producer_id,
                    reason,
                    ..
                } => hub.publish_room_except(
                    room,
                    Event::ProducerClosed(event::ProducerClosed {
                        producer_id,
                        broadcaster_id: broadcaster_id.clone(),
                        reason,
                    }),
                    by_request(reason).then_some(&broadcaster_id),
                ),
                RouterEvent::ProducerPaused {
                    broadcaster_id,
                    producer_id,
                } => hub.publish_room_except(
                    room,
                    Event::ProducerPaused(event::ProducerPaused {
                        producer_id,
                        broadcaster_id: broadcaster_id.clone(),
                    }),
                    Some(&broadcaster_id),
                ),
                RouterEvent::ProducerResumed {
                    broadcaster_id,
                    producer_id,
                } => hub.publish_room_except(
                    room,
                    Event::ProducerResumed(event::ProducerResumed {
                        producer_id,
                        broadcaster_id: broadcaster_id.clone(),
                    }),
                    Some(&broadcaster_id),
                ),
                RouterEvent::ConsumerClosed {
                    broadcaster_id,
                    consumer_id,
                    producer_id,
                    transport_id,
                    reason,
                } => {
                    if !by_request(reason) {
                        hub.publish_broadcaster(
                            room,
                            &broadcaster_id,
                            Event::ConsumerClosed(event::ConsumerClosed {
                                consumer_id,
                                producer_id,
                                transport_id,
                                reason,
                            }),
                        );
                    }
                }
                RouterEvent::ConsumerProducerPaused {
                    broadcaster_id,
                    consumer_id,
                    producer_id,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::ConsumerProducerPaused(event::ConsumerProducerPaused {
                        consumer_id,
                        producer_id,
                    }),
                ),
                RouterEvent::ConsumerProducerResumed {
                    broadcaster_id,
                    consumer_id,
                    producer_id,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::ConsumerProducerResumed(event::ConsumerProducerResumed {
                        consumer_id,
                        producer_id,
                    }),
                ),
                RouterEvent::TransportTuple {
                    broadcaster_id,
                    transport_id,
                    tuple,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::TransportTupleChanged(event::TransportTupleChanged {
                        transport_id,
                        tuple,
                    }),
                ),
                RouterEvent::TransportIceStateChanged {
                    broadcaster_id,
                    transport_id,
                    ice_state,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::TransportIceStateChanged(event::TransportIceStateChanged {
                        transport_id,
                        ice_state,
                    }),
                ),
                RouterEvent::TransportDtlsStateChanged {
                    broadcaster_id,
                    transport_id,
                    dtls_state,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::TransportDtlsStateChanged(event::TransportDtlsStateChanged {
                        transport_id,
                        dtls_state,
                    }),
                ),
                RouterEvent::TransportRtcpTuple {
                    broadcaster_id,
                    transport_id,
                    tuple,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::TransportRtcpTupleChanged(event::TransportRtcpTupleChanged {
                        transport_id,
                        rtcp_tuple: tuple,
                    }),
                ),
                RouterEvent::ProducerScore {
                    broadcaster_id,
                    producer_id,
                    score,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::ProducerScoreChanged(event::ProducerScoreChanged { producer_id, score }),
                ),
                RouterEvent::ConsumerScore {
                    broadcaster_id,
                    consumer_id,
                    score,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::ConsumerScoreChanged(event::ConsumerScoreChanged { consumer_id, score }),
                ),
                RouterEvent::DataProducerAdded {
                    broadcaster_id,
                    data_producer_id,
                    label,
                    protocol,
                } => hub.publish_room_except(
                    room,
                    Event::DataProducerAdded(event::DataProducerAdded {
                        data_producer_id,
                        broadcaster_id: broadcaster_id.clone(),
                        label,
                        protocol,
                    }),
                    Some(&broadcaster_id),
                ),
                RouterEvent::DataProducerClosed {
                    broadcaster_id,
                    data_producer_id,
                    reason,
                    ..
                } => hub.publish_room_except(
                    room,
                    Event::DataProducerClosed(event::DataProducerClosed {
                        data_producer_id,
                        broadcaster_id: broadcaster_id.clone(),
                        reason,
                    }),
                    by_request(reason).then_some(&broadcaster_id),
                ),
                RouterEvent::TransportSctpStateChanged {
                    broadcaster_id,
                    transport_id,
                    sctp_state,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::TransportSctpStateChanged(event::TransportSctpStateChanged {
                        transport_id,
                        sctp_state,
                    }),
                ),
                RouterEvent::DataProducerPaused {
                    broadcaster_id,
                    data_producer_id,
                } => hub.publish_room_except(
                    room,
                    Event::DataProducerPaused(event::DataProducerPauseChanged {
                        data_producer_id,
                        broadcaster_id: broadcaster_id.clone(),
                    }),
                    Some(&broadcaster_id),
                ),
                RouterEvent::DataProducerResumed {
                    broadcaster_id,
                    data_producer_id,
                } => hub.publish_room_except(
                    room,
                    Event::DataProducerResumed(event::DataProducerPauseChanged {
                        data_producer_id,
                        broadcaster_id: broadcaster_id.clone(),
                    }),
                    Some(&broadcaster_id),
                ),
                RouterEvent::DataConsumerDataProducerPaused {
                    broadcaster_id,
                    data_consumer_id,
                    data_producer_id,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::DataConsumerDataProducerPaused(
                        event::DataConsumerProducerPauseChanged {
                            data_consumer_id,
                            data_producer_id,
                        },
                    ),
                ),
                RouterEvent::DataConsumerDataProducerResumed {
                    broadcaster_id,
                    data_consumer_id,
                    data_producer_id,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::DataConsumerDataProducerResumed(
                        event::DataConsumerProducerPauseChanged {
                            data_consumer_id,
                            data_producer_id,
                        },
                    ),
                ),
                RouterEvent::DataConsumerMessage {
                    broadcaster_id,
                    data_consumer_id,
                    data_producer_id,
                    ppid,
                    data,
                } => hub.publish_broadcaster(
                    room,
                    &broadcaster_id,
                    Event::DataConsumerMessage(event::DataConsumerMessage::new(
                        data_consumer_id,
                        data_producer_id,
                        ppid,
                        data,
                    )),
                ),
                RouterEvent::DataConsumerClosed {
                    broadcaster_id,
                    data_consumer_id,
                    data_producer_id,
                    transport_id,
                    reason,
                } => {
                    if !by_request(reason) {
                        hub.publish_broadcaster(
                            room,
                            &broadcaster_id,
                            Event::DataConsumerClosed(event::DataConsumerClosed {
                                data_consumer_id,
                                data_producer_id,
                                transport_id,
                                reason,
                            }),
                        );
                    }
                }
            }
        }
        for broadcaster in left {
            hub.remove_broadcaster(room, &broadcaster);
        }
    }
}
