#!/usr/bin/env bash
# Start PostgreSQL and Mosquitto when they are not running, and make sure the test role exists.
set -euo pipefail
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi

if ! port_open 5432; then
  echo "starting PostgreSQL"
  $sudo pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 1 50); do port_open 5432 && break; sleep 0.2; done
fi
# A superuser role with a password works with both trust and password (scram) authentication.
$sudo su postgres -c "psql -q -tAc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'thuvien_test') THEN CREATE ROLE thuvien_test SUPERUSER LOGIN PASSWORD 'thuvien_test'; END IF; END \\\$\\\$;\"" >/dev/null

if ! port_open 1883; then
  echo "starting Mosquitto"
  $sudo mosquitto -d -c /etc/mosquitto/mosquitto.conf
  for _ in $(seq 1 50); do port_open 1883 && break; sleep 0.2; done
fi
port_open 5432 || { echo "PostgreSQL did not start" >&2; exit 1; }
port_open 1883 || { echo "Mosquitto did not start" >&2; exit 1; }
