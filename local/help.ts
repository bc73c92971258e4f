/** What `imagegen-pipeline --help` and `imagegen-pipeline <command> --help` print: every command and every flag. */

export const OVERVIEW = `Usage: imagegen-pipeline <command> [options]      (imagegen-pipeline <command> --help: its flags)

Commands:
  start      Run the whole pipeline locally: Azurite, the emulator, the Functions host, ./drop sync
  demo       Drop the bundled samples through a fresh local pipeline and print the results
  verify     Check files against the provenance gate
  emulator   Run the gpt-image emulator (Azure OpenAI images API) alone
  host       Run only the local Functions host against existing storage and model endpoints
  chaos      Drive the local pipeline with faults and check its invariants
  help       Show this help

With npm, pass flags after --:  npm start -- --port 7072
`;

export const COMMAND_HELP: Record<string, string> = {
  start: `Usage: imagegen-pipeline start [options]        (npm start -- [options])

Runs the whole pipeline on this machine: storage (Azurite), the gpt-image emulator, the Functions host
and its console, a drop folder synced to inbox/ and every container mirrored to a folder. Ctrl-C stops.
A port that is already taken stops it at once (exit 1) and names the flag below that moves it.

  --port N            Functions host and console (default 7071)
  --blob-port N       blob storage endpoint, with Event Grid events (default 10000)
  --queue-port N      queue storage endpoint (default 10001)
  --emulator-port N   gpt-image emulator (default 8011; with --pool, the first of one per region)
  --state DIR         where storage and the local publisher CA persist (default .local)
  --in-memory         keep storage in memory instead (forgotten at exit)
  --drop DIR          the drop folder (default drop)
  --out DIR           where every container is mirrored (default out)
  --pool REGION=RPM,...  a deployment pool, one emulator per region (e.g. eastus2=12,westus3=6)
  --verbose           every log line, not just one line per job state
  -h, --help          this help
`,
  demo: `Usage: imagegen-pipeline demo [options]         (npm run demo -- [options])

Draws the sample drops, runs them through a fresh pipeline on free ports, prints where each ended.

  --samples DIR       where the samples are drawn (default out/demo-drops)
  --out DIR           where the results are mirrored (default out/demo)
  -h, --help          this help
`,
  verify: `Usage: imagegen-pipeline verify FILE... [options]

Checks each file as the provenance gate would; exit 0 when every file would be published, 1 otherwise.

  --trust PEM         also trust this root certificate file (repeatable)
  --no-default-trust  trust only the --trust roots
  --agent-scope S     active (the signer's own actions) or chain (ingredients too)
  --publisher PEM     the publisher chain composites are signed with
  --edit FILE         with --publisher: the model output the composite claims; checks its masked area
  --json              one JSON report per line instead of the checklist
  -h, --help          this help
`,
  emulator: `Usage: imagegen-pipeline emulator [options]

Runs the gpt-image emulator alone (the Azure OpenAI images API, signing its outputs with test CAs).

  --port N            listen port (default 8011)
  --host H            listen address (default 127.0.0.1)
  --rpm N             requests per minute before 429 (default 9)
  --latency-ms N|MIN-MAX|azure   answer delay (azure: like the real service's)
  --api-key K         the key it accepts (default the well-known emulator key)
  --block-word W      a prompt word the content filter refuses (repeatable)
  --faults kind=rate,...   inject faults (rate 0-1): http403, blocked (Azure's content-policy block of
                      the resource), http500, http503, http408, http504 (after the edit is made, as past
                      Azure's synchronous limit), reset, hang, truncate
  --deployment NAME[=MODEL]   a deployment it serves (repeatable)
  --ca-dir DIR        where its test CAs are kept
  --signer expired    sign with a one-year leaf that expired 30 days ago, time-stamped inside its year
                      (its own in-memory test CAs, served at /emulator/ca.pem)
  --no-timestamp      sign without a time-stamp
  -h, --help          this help
`,
  host: `Usage: imagegen-pipeline host [options]

Runs only the local Functions host, against the storage and model that the environment and
local.settings.json name.

  --port N            listen port (default 7071)
  --no-timers         do not run timer triggers (the sweep)
  --no-jobs-index     for benchmarks only: no jobs index, as the build before it (bench (a) measures
                      what the index costs); the console and GET /api/jobs then refuse
  --queue-lease-seconds N   how long a queue message stays hidden while it is processed
  --verbose           every log line
  -h, --help          this help
`,
  chaos: `Usage: imagegen-pipeline chaos [options]        (npm run chaos -- [options])

Drives the local pipeline with faults and host kills and checks its invariants; exit 1 when one fails.

  --drops N           how many drops (default 200)
  --kills N           how many times the host is killed (default 2)
  --seed N            the random seed, to repeat a run
  --pool              over a deployment pool
  -h, --help          this help
`,
};
