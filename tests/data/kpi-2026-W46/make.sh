#!/usr/bin/env bash
# Makes keel.db and kpi.json with the keel binary given (the fixture of tests/kpi.rs's
# `a_database_of_an_older_keel_reports_the_same_bytes`): two clients, a playbook, requests,
# first responses, waiting spells, escalations, a reopen, NPS and CSAT answers and two sweeps
# over weeks 2026-W45 and 2026-W46. Run it in an empty directory with the binary of the release
# whose database the test stands for: ./make.sh /path/to/keel
set -euo pipefail
K=${1:?usage: make.sh KEEL_BINARY}
DB=sqlite://$PWD/keel.db
say() { local now=$1; shift; "$K" --db "$DB" chat --now "$now" "$@" >/dev/null; }

say 2026-11-02T09:00:00Z --as lea --channel general <<'CHAT'
@keel client add acme "Acme Corp" #acme owner @lea
@keel client add globex "Globex" #globex
@keel client signed acme 2026-10-01
@keel client signed globex 2026-11-02
CHAT
say 2026-11-03T10:00:00Z --as bob --client acme --channel acme <<'CHAT'
Hi! The login page is slow since yesterday, can you check?
CHAT
say 2026-11-03T11:30:00Z --as lea --channel acme <<'CHAT'
Thanks Bob, looking into it now
@keel start #1
CHAT
say 2026-11-04T09:00:00Z --as lea --channel general <<'CHAT'
@keel playbook run onboarding for globex
@keel track call Acme about the renewal by friday
CHAT
say 2026-11-05T14:00:00Z --as carol --client globex --channel globex <<'CHAT'
We need SSO configured for our staff, when can you do it?
CHAT
say 2026-11-06T16:00:00Z --as sam --channel globex <<'CHAT'
Hi Carol, I can do it next week
@keel wait #2 waiting for their IdP metadata
CHAT
say 2026-11-09T08:30:00Z --as lea --channel general <<'CHAT'
@keel client live acme 2026-11-10
@keel done #1 cache fixed
CHAT
say 2026-11-09T09:10:00Z --as bob --client acme --channel acme <<'CHAT'
The invoice export is broken again, we need it fixed by Friday please
CHAT
say 2026-11-09T10:00:00Z --as lea --channel acme <<'CHAT'
Looking into it
@keel start #3
CHAT
say 2026-11-10T13:00:00Z --as carol --client globex --channel globex <<'CHAT'
URGENT: our dashboard is down!!! this is terrible and unacceptable
CHAT
say 2026-11-10T16:30:00Z --as sam --channel globex <<'CHAT'
Sorry Carol, on it right now
@keel escalate #4 production outage
@keel start #2
CHAT
say 2026-11-09T12:00:00Z --as sam --channel globex <<'CHAT'
@keel wait #11
CHAT
say 2026-11-09T14:00:00Z --as bob --client acme --channel acme <<'CHAT'
👍
CHAT
say 2026-11-10T16:45:00Z --as sam --channel globex <<'CHAT'
@keel take #13
@keel escalate #13 production outage
@keel start #13
CHAT
say 2026-11-11T09:30:00Z --as carol --client globex --channel globex <<'CHAT'
Here is the IdP metadata you asked for
CHAT
say 2026-11-11T10:00:00Z --as sam --channel globex <<'CHAT'
@keel start #11
@keel done #13 restarted the workers
CHAT
say 2026-11-11T15:00:00Z --as lea --channel acme <<'CHAT'
@keel done #12 export fixed
@keel survey nps acme
CHAT
say 2026-11-11T16:00:00Z --as bob --client acme --channel acme <<'CHAT'
9
CHAT
say 2026-11-12T09:00:00Z --as dave --client acme --channel acme <<'CHAT'
Could you add a VAT column to the CSV export?
CHAT
say 2026-11-12T11:00:00Z --as lea --channel general <<'CHAT'
@keel reopen #12
@keel priority #10 high
@keel due #5 2026-11-20
CHAT
say 2026-11-13T10:00:00Z --as lea --channel general <<'CHAT'
@keel done #12
@keel cancel #10 renewal signed
CHAT
"$K" --db "$DB" tick --now 2026-11-13T11:00:00Z >/dev/null
"$K" --db "$DB" tick --now 2026-11-16T09:05:00Z >/dev/null
"$K" --db "$DB" kpi --week 2026-W46 --format json > kpi.json
rm -rf keel.db-inbox keel.db-wal keel.db-shm
