"""Everything that touches hardware or the uplink: ISO 15693, tag data, reader drivers, simulators, outbox, MQTT."""
