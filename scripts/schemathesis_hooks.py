"""Schemathesis hooks for scripts/test.sh: the WHIP and WHEP routes take SDP and trickle-ice-sdpfrag bodies, which go
on the wire as text under their own media type."""

import schemathesis

schemathesis.serializer.alias("application/sdp", "text/plain")
schemathesis.serializer.alias("application/trickle-ice-sdpfrag", "text/plain")
