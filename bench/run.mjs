// The action's overhead, measured: `npm run bench` (from a shell that sourced the toolchain's
// env.sh for parts b and c). Prints a markdown report and writes it to bench/RESULTS.md.
//
// a) Scripted: dist/index.js (main + post, through scripts/harness.js exactly as the runner
//    runs it) for a three-platform release, with bench/fake-docker.sh first on PATH answering
//    every docker call after 0 ms and after 100 ms; interleaved with a bare `node -e 0`.
// b) Real toolchain (when CTR_REGISTRY is set): the action against bench/bare.sh, the bare
//    docker commands for the same result, alternating A and B.
// c) Registry cache: pairs of a first and a second release of the same Dockerfile with
//    cache-from/cache-to type=registry, each release on a fresh builder.
//
// Knobs: BENCH_RUNS (scripted runs per delay, default 20), BENCH_PAIRS (A/B pairs, default 10),
// BENCH_LOOP (iterations of the RUN loop in c, default 600000: about 10 s per emulated platform, a small release build), BENCH_CACHE_REPEATS (first/second
// release pairs in c, default 3), BENCH_SKIP_REAL=1 (only a),
// BENCH_KEEP=1 (keep the work directory).
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { runAction } from '../scripts/harness.js'
import { startRegistryStandIn } from '../scripts/registry-stand-in.js'

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(benchDir, '..')
const fixturesDir = path.join(repoRoot, '__tests__', 'fixtures')
const env = process.env

const RUNS = positive(env.BENCH_RUNS, 20)
const PAIRS = positive(env.BENCH_PAIRS, 10)
const LOOP = positive(env.BENCH_LOOP, 600000)
const CACHE_REPEATS = positive(env.BENCH_CACHE_REPEATS, 3)
const DELAYS = [0, 100]
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
const REGISTRY = env.CTR_REGISTRY || '127.0.0.1:5000'
const IMAGE = `${REGISTRY}/bench/app`
const REAL_TIMEOUT_MS = 5 * 60 * 1000

const RELEASE = {
  eventName: 'release',
  ref: 'refs/tags/v1.2.3',
  event: { action: 'published', release: { tag_name: 'v1.2.3', name: 'v1.2.3', prerelease: false, draft: false, target_commitish: 'main' } }
}

const TARGET = {
  wall0: 250,
  wall100: 900,
  calls: 9,
  bundleBytes: 1_500_000,
  jsMs: 100,
  abRatio: 1.1,
  cacheRatio: 0.4
}

function positive(value, fallback) {
  const n = Number(value)
  return Number.isInteger(n) && n > 0 ? n : fallback
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

function sorted(xs) {
  return [...xs].sort((a, b) => a - b)
}

function quantile(xs, q) {
  const s = sorted(xs)
  if (s.length === 0) return NaN
  const pos = (s.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return s[lo] + (s[hi] - s[lo]) * (pos - lo)
}

function median(xs) {
  return quantile(xs, 0.5)
}

function summary(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), q1: quantile(xs, 0.25), q3: quantile(xs, 0.75), n: xs.length }
}

function ms(x) {
  return `${Math.round(x)} ms`
}

function secs(x) {
  return `${(x / 1000).toFixed(2)} s`
}

function spread(s, fmt) {
  return `${fmt(s.median)} (IQR ${fmt(s.q1)}–${fmt(s.q3)}, min–max ${fmt(s.min)}–${fmt(s.max)}, n=${s.n})`
}

function verdict(ok) {
  return ok ? 'pass' : '**FAIL**'
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Spawns without a shell and times it from spawn to close, the way the harness times a step. */
function timed(cmd, args, { env: childEnv, input, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, { cwd, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    const stdout = []
    const stderr = []
    child.stdout.on('data', c => stdout.push(c))
    child.stderr.on('data', c => stderr.push(c))
    child.on('error', reject)
    child.on('close', (code, signal) =>
      resolve({
        ms: performance.now() - started,
        exitCode: code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8')
      })
    )
    child.stdin.on('error', () => {})
    child.stdin.end(input ?? '')
  })
}

/** The environment the harness gives a step, minus the runner variables: what `node -e 0` gets. */
function bareEnv() {
  const out = {}
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'USER']) if (env[name] !== undefined) out[name] = env[name]
  return out
}

const CLK_TCK = Number(firstLine('getconf', ['CLK_TCK'])) || 100

/**
 * User + system CPU milliseconds of this process's finished children, theirs included (the
 * kernel adds a reaped child's own children): around one run, the CPU the run used, which
 * other load on the machine barely changes, unlike its wall time. Clock-tick resolution.
 */
function childCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 16 and 17 of proc(5), cutime and cstime; fields[0] is field 3.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK
  } catch {
    return NaN
  }
}

async function cpuOf(fn) {
  const before = childCpuMs()
  const result = await fn()
  return { result, cpu: childCpuMs() - before }
}

async function bareNode() {
  const { result: r, cpu } = await cpuOf(() => timed(process.execPath, ['-e', '0'], { env: bareEnv() }))
  if (r.exitCode !== 0) throw new Error(`node -e 0 exited ${r.exitCode ?? r.signal}`)
  return { ms: r.ms, cpu }
}

/** A post step with nothing to clean up: Node starting and loading dist/index.js, and no docker call. */
async function idleStep() {
  const { result: r, cpu } = await cpuOf(() =>
    timed(process.execPath, [path.join(repoRoot, 'dist', 'index.js')], { env: { ...bareEnv(), STATE_isPost: 'true' } })
  )
  if (r.exitCode !== 0 || r.stdout.trim() !== '') throw new Error(`idle post step exited ${r.exitCode ?? r.signal}: ${r.stdout}${r.stderr}`)
  return { ms: r.ms, cpu }
}

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : ''
}

// ---------------------------------------------------------------------------------------------
// The scripted docker

/** A bin directory whose `docker` is bench/fake-docker.sh. */
function fakeDockerBin(work) {
  const bin = path.join(work, 'fake-bin')
  mkdirSync(bin, { recursive: true })
  symlinkSync(path.join(benchDir, 'fake-docker.sh'), path.join(bin, 'docker'))
  return bin
}

/** The calls the scripted docker logged, in the order they started. */
function readCalls(log) {
  if (!existsSync(log)) return []
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line))
    .sort((a, b) => a.start - b.start)
}

/** Milliseconds during which at least one docker call was running (calls may overlap). */
function busyMs(calls) {
  let total = 0
  let end = -Infinity
  let start = 0
  for (const c of calls) {
    if (c.start > end) {
      if (end > -Infinity) total += end - start
      start = c.start
      end = c.end
    } else if (c.end > end) {
      end = c.end
    }
  }
  if (end > -Infinity) total += end - start
  return total * 1000
}

/** busyMs with each call's window opened `startMs` earlier: the time its process takes to start before the script logs. */
function busyFromSpawnMs(calls, startMs) {
  return busyMs(calls.map(c => ({ ...c, start: c.start - startMs / 1000 })).sort((a, b) => a.start - b.start))
}

function summedMs(calls) {
  return calls.reduce((t, c) => t + (c.end - c.start) * 1000, 0)
}

/** argv with what differs between runs (builder name, temp paths, digests, label values, the stand-in's port) replaced. */
function normalizeCall(argv, work) {
  const out = []
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]
    if (argv[i - 1] === '--label') a = `${a.split('=')[0]}=…`
    a = a.split(work).join('<work>').replace(/<work>\/mr-run-[^/]+/g, '<run>')
    a = a.replace(/multiarch-release-\d+-\d+-[0-9a-f]+/g, '<builder>').replace(/\/multiarch-release-[A-Za-z0-9]{6}\//g, '/multiarch-release-<random>/')
    a = a.replace(/@sha256:[0-9a-f]{64}/, '@<digest>').replace(/^127\.0\.0\.1:\d+(?=\/|$)/, '<registry stand-in>')
    out.push(a)
  }
  return out
}

function expectedDigests(topDigest) {
  for (const name of readdirSync(path.join(fixturesDir, 'buildx'))) {
    if (!name.endsWith('.expected.json')) continue
    const expected = JSON.parse(readFileSync(path.join(fixturesDir, 'buildx', name), 'utf8'))
    if (expected.topDigest === topDigest) return expected.platforms
  }
  return undefined
}

function failRun(what, r) {
  const tail = r.log.trimEnd().split('\n').slice(-40).join('\n')
  throw new Error(`${what}: main exited ${r.main.exitCode ?? r.main.signal}, post ${r.post?.exitCode ?? r.post?.signal}\n${tail}`)
}

/** Throws unless main and post succeeded, post warned of nothing and every platform has a digest. */
function checkRelease(what, r, expected) {
  if (r.main.exitCode !== 0 || r.post?.exitCode !== 0 || r.main.timedOut || r.post?.timedOut) failRun(what, r)
  const postWarnings = (r.post?.stdout ?? '').split('\n').filter(l => l.startsWith('::warning'))
  if (postWarnings.length > 0) throw new Error(`${what}: post warned:\n${postWarnings.join('\n')}`)
  const digests = JSON.parse(r.outputs.digests ?? '{}')
  const platforms = Object.keys(digests).sort()
  if (platforms.join() !== [...PLATFORMS].sort().join()) failRun(`${what}: digests for ${platforms.join(', ') || 'no platform'}`, r)
  if (expected && JSON.stringify(digests) !== JSON.stringify(expected)) {
    throw new Error(`${what}: digests ${JSON.stringify(digests)} differ from the fixture's ${JSON.stringify(expected)}`)
  }
}

/** The per-phase durations main logs ("Builder: 3.2s"). */
/** The per-phase durations main logs at the end of each group ("Builder: 3.2s"), in log order. */
function phases(r) {
  const out = {}
  for (const m of r.main.stdout.matchAll(/^([A-Z][A-Za-z ]*): (\d+(?:\.\d+)?)s$/gm)) {
    out[m[1]] = Number(m[2]) * 1000
  }
  return out
}

function phaseNames(runs) {
  return [...new Set(runs.flatMap(r => Object.keys(r.phases)))]
}

/** Every node process started under a step, main and post and anything they start. */
function nodeStartCounter(file) {
  const hook = String.raw`import{appendFileSync}from"node:fs";appendFileSync(process.env.BENCH_NODE_STARTS,process.pid+"\n")`
  return { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(hook)}`, BENCH_NODE_STARTS: file }
}

function writeProject(dir, dockerfile) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'Dockerfile'), dockerfile)
  return dir
}

// Emulators the foreign platforms need on this host. Other work on a shared machine may remove
// them for a while: a real run waits for them rather than have the action install them again.
const NEEDED_EMULATORS = process.arch === 'x64' ? ['qemu-aarch64', 'qemu-arm'] : []
const disturbances = []

function emulatorsPresent() {
  const registered = emulators()
  return NEEDED_EMULATORS.every(n => registered.includes(n))
}

async function waitForEmulators(what) {
  const started = Date.now()
  let waited = false
  while (!emulatorsPresent()) {
    if (Date.now() - started > 180_000) throw new Error(`${NEEDED_EMULATORS.join(', ')} stayed unregistered for 3 minutes before ${what}`)
    waited = true
    await new Promise(resolve => setTimeout(resolve, 1000))
  }
  if (waited) disturbances.push(`waited ${secs(Date.now() - started)} for the emulators before ${what}`)
}

/** A real run, started with the emulators in place and redone once if they vanished during it. */
async function guarded(what, fn) {
  await waitForEmulators(what)
  try {
    return await fn()
  } catch (e) {
    if (emulatorsPresent()) throw e
    disturbances.push(`redid ${what}: the emulators were removed while it ran`)
    await waitForEmulators(what)
    return fn()
  }
}

function emulators() {
  try {
    return readdirSync('/proc/sys/fs/binfmt_misc').filter(n => n.startsWith('qemu-')).sort()
  } catch {
    return []
  }
}

// ---------------------------------------------------------------------------------------------
// a) Scripted runs

async function scripted(work) {
  const bin = fakeDockerBin(work)
  const context = writeProject(path.join(work, 'scripted-project'), 'FROM scratch\nCOPY Dockerfile /\n')
  // What the scripted build "pushed", where the action reads it and adds the tags.
  const registry = await startRegistryStandIn({
    repository: 'bench/app',
    index: readFileSync(path.join(fixturesDir, 'buildx', 'attestations.raw.json'), 'utf8'),
    username: 'bench',
    password: 'bench-password-not-real'
  })
  try {
    return await scriptedAgainst(work, bin, context, registry)
  } finally {
    await registry.close()
  }
}

async function scriptedAgainst(work, bin, context, registry) {
  const inputs = {
    images: `${registry.host}/bench/app`,
    platforms: PLATFORMS.join(','),
    context,
    registry: registry.host,
    username: 'bench',
    password: 'bench-password-not-real'
  }
  let counter = 0
  const once = (delay, extraEnv = {}, extraInputs = {}) => guarded(`a scripted run (${delay} ms)`, () => scriptedOnce(delay, extraEnv, extraInputs))
  const scriptedOnce = async (delay, extraEnv, extraInputs) => {
    const log = path.join(work, `calls-${delay}-${counter++}.jsonl`)
    const cpuBefore = childCpuMs()
    const r = await runAction({
      cwd: work,
      workDir: work,
      ...RELEASE,
      inputs: { ...inputs, ...extraInputs },
      env: {
        PATH: [bin, env.PATH].filter(Boolean).join(path.delimiter),
        FAKE_DOCKER_LOG: log,
        FAKE_DOCKER_DELAY_MS: String(delay),
        FAKE_DOCKER_FIXTURES: fixturesDir,
        ...extraEnv
      }
    })
    const cpu = childCpuMs() - cpuBefore
    checkRelease(`scripted run (${delay} ms)`, r, expectedDigests(r.outputs.digest))
    const tagged = [...registry.tags.keys()].sort().join(', ')
    if (tagged !== '1, 1.2, latest') throw new Error(`scripted run (${delay} ms): the registry stand-in holds the tags ${tagged || 'none'}, not 1, 1.2, latest`)
    registry.tags.clear()
    const calls = readCalls(log)
    const failed = calls.filter(c => c.exit !== 0)
    if (failed.length > 0) throw new Error(`scripted run: docker calls failed: ${failed.map(c => c.argv.join(' ')).join('; ')}`)
    return {
      wall: r.main.durationMs + (r.post?.durationMs ?? 0),
      main: r.main.durationMs,
      post: r.post?.durationMs ?? 0,
      steps: [r.main, r.post].filter(Boolean).length,
      calls,
      busy: busyMs(calls),
      summed: summedMs(calls),
      cpu,
      outputs: r.outputs
    }
  }

  // Unmeasured: the first run of a process pays for cold file caches.
  for (const delay of DELAYS) await once(delay)

  // Every node process under main and post, counted by a hook that each node runs at start.
  const nodeStarts = {}
  for (const delay of DELAYS) {
    const file = path.join(work, `node-starts-${delay}.txt`)
    writeFileSync(file, '')
    await once(delay, nodeStartCounter(file))
    nodeStarts[delay] = readFileSync(file, 'utf8').split('\n').filter(Boolean).length
  }

  const bare = []
  const idle = []
  const runs = Object.fromEntries(DELAYS.map(d => [d, []]))
  // latest: true decides without listing the repository's releases: the same release minus that lookup.
  const forcedLatest = []
  for (let i = 0; i < RUNS; i++) {
    idle.push(await idleStep())
    for (const delay of DELAYS) {
      bare.push(await bareNode())
      runs[delay].push(await once(delay))
    }
    forcedLatest.push(await once(0, {}, { latest: 'true' }))
  }

  // What one call of the scripted docker costs beyond the window it logs (starting bash).
  const probeLog = path.join(work, 'fake-cost.jsonl')
  const outside = []
  const probeCpuBefore = childCpuMs()
  const PROBES = 50
  for (let i = 0; i < PROBES; i++) {
    writeFileSync(probeLog, '')
    const r = await timed(path.join(bin, 'docker'), ['buildx', 'version'], {
      env: { ...bareEnv(), FAKE_DOCKER_LOG: probeLog, FAKE_DOCKER_FIXTURES: fixturesDir }
    })
    outside.push(r.ms - summedMs(readCalls(probeLog)))
  }
  const fakeCpu = (childCpuMs() - probeCpuBefore) / PROBES

  return { runs, bare, idle, forcedLatest, nodeStarts, fakeOutside: median(outside), fakeCpu, work }
}

function bundle() {
  const dist = path.join(repoRoot, 'dist')
  const files = readdirSync(dist)
    .filter(n => n.endsWith('.js'))
    .map(n => ({ name: n, bytes: statSync(path.join(dist, n)).size }))
    .sort((a, b) => (a.name === 'index.js' ? -1 : b.name === 'index.js' ? 1 : a.name.localeCompare(b.name)))
  return { files, index: files.find(f => f.name === 'index.js')?.bytes ?? NaN, total: files.reduce((t, f) => t + f.bytes, 0) }
}

// ---------------------------------------------------------------------------------------------
// b) Real toolchain: the action (A) against the bare commands (B)

function realInputs(context) {
  return {
    images: IMAGE,
    platforms: PLATFORMS.join(','),
    context,
    registry: env.CTR_REGISTRY,
    username: env.CTR_REGISTRY_USER,
    password: env.CTR_REGISTRY_PASSWORD
  }
}

async function actionRun(work, inputs, what) {
  const r = await runAction({ cwd: work, workDir: work, ...RELEASE, inputs, timeoutMs: REAL_TIMEOUT_MS })
  checkRelease(what, r)
  return { wall: r.main.durationMs + (r.post?.durationMs ?? 0), main: r.main.durationMs, post: r.post?.durationMs ?? 0, phases: phases(r), log: r.log }
}

async function bareRun(work, context, tags) {
  const dockerConfig = mkdtempSync(path.join(work, 'bare-config-'))
  const builder = `multiarch-release-${1000 + Math.floor(Math.random() * 1e6)}-1-${randomBytes(3).toString('hex')}`
  const args = [
    path.join(benchDir, 'bare.sh'),
    '--registry', env.CTR_REGISTRY,
    '--username', env.CTR_REGISTRY_USER,
    '--image', IMAGE,
    '--platforms', PLATFORMS.join(','),
    '--builder', builder,
    '--metadata-file', path.join(dockerConfig, 'metadata.json'),
    '--file', path.join(context, 'Dockerfile'),
    ...tags.flatMap(t => ['--tag', t]),
    context
  ]
  const r = await timed('bash', args, { env: { ...env, DOCKER_CONFIG: dockerConfig, BARE_PASSWORD: env.CTR_REGISTRY_PASSWORD } })
  if (r.exitCode !== 0) throw new Error(`bench/bare.sh exited ${r.exitCode ?? r.signal}:\n${r.stderr.trimEnd().split('\n').slice(-30).join('\n')}`)
  const index = JSON.parse(r.stdout)
  const images = (index.manifests ?? []).filter(m => m.platform && m.platform.os !== 'unknown')
  if (images.length !== PLATFORMS.length) throw new Error(`bench/bare.sh pushed ${images.length} platforms, expected ${PLATFORMS.length}`)
  const steps = Object.fromEntries([...r.stderr.matchAll(/^bare: (\w+) (\d+) ms$/gm)].map(m => [m[1], Number(m[2])]))
  rmSync(dockerConfig, { recursive: true, force: true })
  return { wall: r.ms, steps }
}

async function comparison(work, tags) {
  const context = writeProject(
    path.join(work, 'ab-project'),
    `FROM ${env.CTR_BASE_IMAGE}\nRUN uname -m > /arch && echo built\nCMD ["cat", "/arch"]\n`
  )
  // Unmeasured: brings the base image's blobs into the registry and the daemon's caches warm.
  await guarded('the warm-up B run', () => bareRun(work, context, tags))
  const a = []
  const b = []
  const order = []
  for (let i = 0; i < PAIRS; i++) {
    // ABBA: each side goes first equally often, so drift does not favour one.
    const aFirst = i % 2 === 0
    order.push(aFirst ? 'AB' : 'BA')
    for (const side of aFirst ? ['A', 'B'] : ['B', 'A']) {
      if (side === 'A') a.push(await guarded(`A run ${i + 1}`, () => actionRun(work, realInputs(context), `A run ${i + 1}`)))
      else b.push(await guarded(`B run ${i + 1}`, () => bareRun(work, context, tags)))
    }
  }
  return { a, b, order }
}

// ---------------------------------------------------------------------------------------------
// c) Registry cache

async function registryCache(work) {
  const pairs = []
  for (let i = 0; i < CACHE_REPEATS; i++) pairs.push(await guarded(`cache pair ${i + 1}`, () => cachePair(work, i)))
  return { pairs, loop: LOOP }
}

async function cachePair(work, i) {
  const nonce = randomBytes(6).toString('hex')
  // The nonce makes this pair's cache keys new, so its first release finds nothing in the cache.
  const context = writeProject(
    path.join(work, `cache-project-${i}`),
    [
      `FROM ${env.CTR_BASE_IMAGE}`,
      `RUN echo ${nonce} > /nonce && i=0 && while [ $i -lt ${LOOP} ]; do i=$((i+1)); done && echo $i > /count`,
      'CMD ["cat", "/count"]',
      ''
    ].join('\n')
  )
  const cache = `type=registry,ref=${env.CTR_REGISTRY_NOAUTH}/bench/cache:buildcache,mode=max`
  const inputs = { ...realInputs(context), 'cache-from': cache.replace(/,mode=max$/, ''), 'cache-to': cache }
  // Redoing a first release would find the cache it wrote: a disturbed pair starts over with a new nonce.
  const first = await actionRun(work, inputs, `cache pair ${i + 1}: first release`)
  const second = await actionRun(work, inputs, `cache pair ${i + 1}: second release`)
  return { first, second, ratio: second.wall / first.wall, firstCached: cachedRuns(first.log), secondCached: cachedRuns(second.log) }
}

/** BuildKit steps of a build and how long each took, from its plain progress ("#12 DONE 4.8s"), slowest first. */
function buildSteps(log) {
  const names = new Map()
  const done = new Map()
  for (const line of log.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line)
    if (!m) continue
    const d = /^DONE (\d+(?:\.\d+)?)s$/.exec(m[2])
    if (d) done.set(m[1], Number(d[1]) * 1000)
    else if (!names.has(m[1])) names.set(m[1], m[2])
  }
  return [...done].map(([id, t]) => ({ name: names.get(id) ?? `#${id}`, ms: t })).sort((x, y) => y.ms - x.ms)
}

/** How many of the per-platform RUN steps BuildKit's plain progress reports as CACHED, of how many. */
function cachedRuns(log) {
  const ids = new Set([...log.matchAll(/^#(\d+) \[[^\]]*\] RUN echo [0-9a-f]+ > \/nonce/gm)].map(m => m[1]))
  const cached = [...ids].filter(id => new RegExp(`^#${id} CACHED$`, 'm').test(log)).length
  return { cached, of: ids.size }
}

// ---------------------------------------------------------------------------------------------
// Report

function report({ startedAt, seconds, machine, a, bundleInfo, b, c, skipped }) {
  const out = []
  const line = s => out.push(s)
  line('<!-- Generated by `npm run bench` (bench/run.mjs): do not edit by hand, run it again. -->')
  line('')
  line('# Benchmark results')
  line('')
  line(`Regenerate with \`npm run bench\` from a shell that sourced the toolchain's env.sh (parts b and c need \`CTR_*\`).`)
  line('')
  line(`- date: ${startedAt}; whole benchmark: ${seconds.toFixed(0)} s`)
  line(`- nproc: ${machine.nproc}; load average at start ${machine.loadStart}, at end ${machine.loadEnd} (the machine is shared: other work runs beside the benchmark)`)
  line(`- node ${process.version}; ${machine.buildx || 'docker buildx: not measured'}; docker engine ${machine.engine || 'not measured'}`)
  line(`- QEMU emulators registered: ${machine.emulators.join(', ') || 'none'}`)
  if (machine.disturbances.length > 0) line(`- disturbed by other work: ${machine.disturbances.join('; ')}`)
  line('')

  line('## a) Scripted docker: overhead of the step (main + post)')
  line('')
  line(`${RUNS} measured runs per delay after one unmeasured warm-up each, delays interleaved, a bare \`node -e 0\` before every run. ` +
    'Release v1.2.3 of one image, registry/username/password set, platforms ' + PLATFORMS.join(', ') + ', default driver (docker-container), ' +
    'bench/fake-docker.sh first on PATH. The image\'s registry is a stand-in on loopback (scripts/registry-stand-in.js) that holds the index ' +
    'the scripted build "pushed", takes the login the scripted `docker login` stored, and the tags; it answers at once, as the API stand-in does.')
  line('')
  line('| measure | measured | target | result |')
  line('|---|---|---|---|')
  const bare = summary(a.bare.map(x => x.ms))
  const rows = []
  for (const delay of DELAYS) {
    const runs = a.runs[delay]
    const wall = summary(runs.map(r => r.wall))
    const target = delay === 0 ? TARGET.wall0 : TARGET.wall100
    rows.push([`wall, ${delay} ms per call`, spread(wall, ms), `≤ ${ms(target)}`, verdict(wall.median <= target)])
  }
  for (const delay of DELAYS) {
    const runs = a.runs[delay]
    const js = summary(runs.map(r => r.wall - r.busy - bare.median))
    rows.push([`JS time, ${delay} ms per call (wall − docker busy time − bare node)`, spread(js, ms), `≤ ${ms(TARGET.jsMs)}`, verdict(js.median <= TARGET.jsMs)])
  }
  for (const delay of DELAYS) {
    const runs = a.runs[delay]
    const js = summary(runs.map(r => r.wall - busyFromSpawnMs(r.calls, a.fakeOutside) - bare.median))
    rows.push([
      `JS time, ${delay} ms per call, each docker call timed from its process start (its logged window opened ${a.fakeOutside.toFixed(1)} ms earlier, see below)`,
      spread(js, ms),
      `≤ ${ms(TARGET.jsMs)}`,
      verdict(js.median <= TARGET.jsMs)
    ])
  }
  const callCounts = DELAYS.flatMap(d => a.runs[d].map(r => r.calls.length))
  const maxCalls = Math.max(...callCounts)
  rows.push(['docker calls per run', `${Math.min(...callCounts)}–${maxCalls} (all ${callCounts.length} runs)`, `≤ ${TARGET.calls}`, verdict(maxCalls <= TARGET.calls)])
  const repeats = new Set()
  for (const d of DELAYS) {
    for (const r of a.runs[d]) {
      const seen = new Set()
      for (const c of r.calls) {
        const key = JSON.stringify(normalizeCall(c.argv, a.work))
        if (seen.has(key)) repeats.add(key)
        seen.add(key)
      }
    }
  }
  rows.push(['repeated calls (same argv twice in a run)', repeats.size === 0 ? 'none' : [...repeats].join('; '), 'none', verdict(repeats.size === 0)])
  const stepCounts = new Set(DELAYS.flatMap(d => a.runs[d].map(r => r.steps)))
  rows.push([
    'Node starts per run',
    `${[...stepCounts].join(', ')} step processes (harness: main + post); ` +
      DELAYS.map(d => `${a.nodeStarts[d]} node processes at ${d} ms`).join(', ') + ' (counted by an --import hook in one extra run each)',
    '2 (main + post)',
    verdict([...stepCounts].every(n => n === 2) && DELAYS.every(d => a.nodeStarts[d] === 2))
  ])
  rows.push([
    'dist/index.js and the chunks it loads',
    `${bundleInfo.total.toLocaleString('en-US')} bytes in all (${bundleInfo.files.map(f => `${f.name} ${f.bytes.toLocaleString('en-US')}`).join(', ')})`,
    `≤ 1.5 MB (${TARGET.bundleBytes.toLocaleString('en-US')} bytes), counted for all files`,
    verdict(bundleInfo.total <= TARGET.bundleBytes)
  ])
  for (const r of rows) line(`| ${r.join(' | ')} |`)
  line('')
  line('Where the time goes (medians):')
  line('')
  line('| run | wall | main | post | docker busy (union of call intervals) | docker summed | bare `node -e 0` | JS time with both Node starts subtracted |')
  line('|---|---|---|---|---|---|---|---|')
  const variants = [...DELAYS.map(d => [`${d} ms`, a.runs[d]]), ['0 ms, input latest: true', a.forcedLatest]]
  for (const [label, runs] of variants) {
    const m = f => ms(median(runs.map(f)))
    line(`| ${label} | ${m(r => r.wall)} | ${m(r => r.main)} | ${m(r => r.post)} | ${m(r => r.busy)} | ${m(r => r.summed)} | ${ms(bare.median)} | ${m(r => r.wall - r.busy - r.steps * bare.median)} |`)
  }
  line('')
  line('The last row is the 0 ms release with `latest: true` instead of the default `auto`, which decides without listing the repository\'s releases ' +
    '(in these runs the harness answers that request from a local stand-in, so a real API round trip would add to the `auto` rows).')
  line('')
  line(`Bare \`node -e 0\`: ${spread(bare, ms)}. One scripted docker call costs ${a.fakeOutside.toFixed(1)} ms (median) beyond the window it logs (starting bash); ` +
    'the first JS rows count that cost as JS time (upper bounds); the rows after them count it as part of each docker call, ' +
    'as it is for the real CLI, whose own start is part of every call (and takes far longer than bash\'s).')
  const idle = summary(a.idle.map(x => x.ms))
  const cpu = {
    bare: median(a.bare.map(x => x.cpu)),
    idle: median(a.idle.map(x => x.cpu))
  }
  line('')
  line('The same runs in CPU time (user + system of main, post and everything they ran, from the kernel\'s accounting of reaped children; ' +
    `${Math.round(1000 / CLK_TCK)} ms resolution). Unlike wall time it hardly moves with the other load on the machine:`)
  line('')
  line('| run | CPU of the step | of which scripted docker calls (CPU of one call at 0 ms × calls) | bare `node -e 0` | JS CPU (step − docker calls − one bare node) |')
  line('|---|---|---|---|---|')
  for (const [label, runs] of variants) {
    const step = median(runs.map(r => r.cpu))
    const docker = median(runs.map(r => r.calls.length)) * a.fakeCpu
    line(`| ${label} | ${ms(step)} | ${ms(docker)} | ${ms(cpu.bare)} | ${ms(step - docker - cpu.bare)} |`)
  }
  line('')
  line('Loading the bundle: after a release that went through, main has cleaned up and the post step loads only the bundle\'s entry (the post column above). ' +
    `After a failed main, a post step with nothing to clean up (Node starts, loads dist/index.js and the post step's chunks, makes no docker call) takes ${spread(idle, ms)} ` +
    `wall and ${ms(cpu.idle)} CPU, against ${ms(bare.median)} wall and ${ms(cpu.bare)} CPU for \`node -e 0\`: ` +
    `about ${ms(idle.median - bare.median)} wall (${ms(cpu.idle - cpu.bare)} CPU) goes to loading the post step's code. Main loads its own chunks besides.`)
  line('')
  line('Notes:')
  line('')
  line('- JS time is everything in the step that is not a docker call or the first Node start: loading the bundle (twice), reading inputs and the event, ' +
    'writing outputs, state and summary, and any REST API request main makes (the harness answers those from a local stand-in).')
  line('- The registry requests (the digest read, the tags) count as JS time: the stand-in answers at once, so what they add is the action\'s own work. ' +
    'Not in these runs: the manifest check and verify, which read platform manifests and blobs the stand-in does not hold, so both skip with a warning. ' +
    'Part b measures them, and every registry request, on a real registry (the Digests, Tag, Manifest check and Verify binaries phases).')
  line('- Docker time is the union of the logged call intervals, not their sum: login and the builder creation run concurrently by design, ' +
    'so the sum would count the overlap twice and understate the JS time (the summed column shows by how much).')
  line('- The JS time subtracts one bare Node start, as the target defines it; the step starts Node twice (main and post), so about one more ' +
    '`node -e 0` of it is the runtime starting the post step, not the action\'s code (last column).')
  line(`- QEMU: the action reads the machine's binfmt_misc. Here ${a.qemuNote}. A variant with a scripted binfmt_misc state (emulators missing, ` +
    'so the install call runs) is not measured: the directory is a constant in src/qemu.ts that only an edit of src could point elsewhere, ' +
    'and after the install the action checks the real kernel state again.')
  line('')
  line('Distinct docker calls of one run, in order (run-specific values replaced):')
  line('')
  line('```')
  const sample = a.runs[0][0]
  for (const c of sample.calls) line(`docker ${normalizeCall(c.argv, a.work).join(' ')}`)
  line('```')
  line('')

  line('## b) Real toolchain: the action (A) against the bare docker commands (B)')
  line('')
  if (skipped) {
    line(`Not measured: ${skipped}.`)
    line('')
  } else {
    const aw = summary(b.a.map(r => r.wall))
    const bw = summary(b.b.map(r => r.wall))
    const ratio = aw.median / bw.median
    line(`${PAIRS} pairs after one unmeasured B run, order ${b.order.join(' ')} (each side first equally often). A: dist/index.js main + post through the harness, ` +
      'a fresh DOCKER_CONFIG each run. B: bench/bare.sh (login, buildx create --driver docker-container --driver-opt network=host --bootstrap, ' +
      'buildx build --push of the three platforms with the same tags and Dockerfile, imagetools inspect --raw, logout, buildx rm), ' +
      'a fresh DOCKER_CONFIG and a builder name of the same pattern each run. B leaves out the OCI labels A adds (they change only the config blob).')
    line('')
    line('| measure | measured | target | result |')
    line('|---|---|---|---|')
    line(`| A: the action, wall | ${spread(aw, secs)} | | |`)
    line(`| B: bare commands, wall | ${spread(bw, secs)} | | |`)
    line(`| A / B (medians) | ${ratio.toFixed(3)} (A − B = ${ms(aw.median - bw.median)}) | ≤ 1.10 | ${verdict(ratio <= TARGET.abRatio)} |`)
    const aOut = summary(b.a.map(r => r.wall - (r.phases['Build and push'] ?? 0)))
    const bOut = summary(b.b.map(r => r.wall - (r.steps.build ?? 0)))
    line(`| A: wall outside build and push | ${spread(aOut, secs)} | | |`)
    line(`| B: wall outside the build command | ${spread(bOut, secs)} | | |`)
    line(`| A − B outside the build (medians) | ${ms(aOut.median - bOut.median)} | | |`)
    line('')
    line('The build and push carries nearly all the variance. It is not the same work on both sides: B\'s build pushes the image under ' +
      'four tags, which makes BuildKit push every blob and manifest four times; A\'s build pushes one tag, and its Tag phase adds the other three ' +
      'outside the build. The rows outside the build show what the action adds around its own build, the Tag phase included ' +
      '(A\'s phases are logged in tenths of a second).')
    line('')
    const pairs = b.a.map((r, i) => (r.wall / b.b[i].wall).toFixed(3))
    line(`Per-pair A/B: ${pairs.join(', ')}.`)
    line('')
    const aPhase = name => ms(median(b.a.map(r => r.phases[name] ?? 0)))
    const bStep = name => ms(median(b.b.map(r => r.steps[name] ?? 0)))
    // The bare command that does what each phase of the action does, where there is one.
    const counterpart = { Login: ['login'], Builder: ['create'], 'Build and push': ['build'], Digests: ['inspect'], Cleanup: ['logout', 'rm'] }
    line('| A phase (main logs it) | A (median) | B command doing the same | B (median) |')
    line('|---|---|---|---|')
    for (const name of phaseNames(b.a)) {
      const steps = counterpart[name]
      line(`| ${name} | ${aPhase(name)} | ${steps ? steps.join(' + ') : '–'} | ${steps ? steps.map(bStep).join(' + ') : '–'} |`)
    }
    line(`| post step (whole, Node start included) | ${ms(median(b.a.map(r => r.post)))} | – | – |`)
    line('')
    line('A runs QEMU, Login and Builder concurrently, and after the build Digests, Tag and the checks; B runs its commands one after another. ' +
      'B reads the index with `imagetools inspect --raw`; A reads it, and writes its tags, over the registry API with the login\'s credentials. ' +
      'B\'s build pushes all four tags, so BuildKit pushes the image four times; A\'s build pushes the first tag and its Tag phase adds the other three, one PUT of the index each.')
    line('')
  }

  line('## c) Registry cache: second release of an unchanged Dockerfile')
  line('')
  if (skipped) {
    line(`Not measured: ${skipped}.`)
    line('')
  } else {
    const ratios = c.pairs.map(p => p.ratio)
    const ratio = median(ratios)
    line(`${c.pairs.length} pairs of releases through the action of a Dockerfile whose RUN loops ${c.loop.toLocaleString('en-US')} times (seconds under emulation), ` +
      'cache-from `type=registry,ref=<CTR_REGISTRY_NOAUTH>/bench/cache:buildcache` and cache-to the same with `mode=max`, ' +
      'each release on the fresh builder the action creates and removes, so only the registry cache carries over. ' +
      'A nonce in the RUN, new for each pair, makes the first release of a pair miss the cache.')
    line('')
    line('| pair | first release | second release | second / first |')
    line('|---|---|---|---|')
    c.pairs.forEach((p, i) => {
      line(`| ${i + 1} | ${secs(p.first.wall)} (RUN steps cached: ${p.firstCached.cached} of ${p.firstCached.of}) | ` +
        `${secs(p.second.wall)} (RUN steps cached: ${p.secondCached.cached} of ${p.secondCached.of}) | ${p.ratio.toFixed(3)} |`)
    })
    line('')
    line('| measure | measured | target | result |')
    line('|---|---|---|---|')
    line(`| second / first (median of the pairs) | ${ratio.toFixed(3)} (min–max ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}) | ≤ 0.40 | ${verdict(ratio <= TARGET.cacheRatio)} |`)
    line('')
    const med = (list, f) => ms(median(list.map(f)))
    line('| phase (main logs it; medians) | first | second |')
    line('|---|---|---|')
    for (const name of phaseNames(c.pairs.flatMap(p => [p.first, p.second]))) {
      line(`| ${name} | ${med(c.pairs, p => p.first.phases[name] ?? 0)} | ${med(c.pairs, p => p.second.phases[name] ?? 0)} |`)
    }
    line(`| post step | ${med(c.pairs, p => p.first.post)} | ${med(c.pairs, p => p.second.post)} |`)
    line('')
    const firsts = c.pairs.map(p => buildSteps(p.first.log))
    const seconds = c.pairs.map(p => buildSteps(p.second.log))
    // The nonce differs per pair; name the RUN steps without it so the pairs line up.
    const key = n => n.replace(/RUN echo [0-9a-f]+ > \/nonce/, 'RUN echo <nonce> > /nonce')
    const top = lists => lists.flatMap(l => l.slice(0, 5).map(x => key(x.name)))
    const names = [...new Set([...top(seconds), ...top(firsts)])]
    const short = n => (n.length > 90 ? `${n.slice(0, 89)}…` : n).replace(/\|/g, '\\|')
    const of = (lists, n) => {
      const found = lists.map(l => l.find(x => key(x.name) === n)).filter(Boolean)
      return found.length === 0 ? 'cached or absent' : `${ms(median(found.map(x => x.ms)))}${found.length < lists.length ? ` (in ${found.length} of ${lists.length})` : ''}`
    }
    line('The slowest BuildKit steps (medians of their DONE times in the build logs; "exporting to image" pushes every tag in turn):')
    line('')
    line('| BuildKit step | first | second |')
    line('|---|---|---|')
    for (const n of names) line(`| \`${short(n)}\` | ${of(firsts, n)} | ${of(seconds, n)} |`)
    line('')
  }
  return out.join('\n')
}

async function main() {
  const started = Date.now()
  const startedAt = new Date().toISOString()
  const loadStart = os.loadavg().map(l => l.toFixed(2)).join(' ')
  const work = mkdtempSync(path.join(os.tmpdir(), 'mr-bench-'))
  const progress = msg => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`)
  try {
    const emu = emulators()
    progress(`scripted runs: ${RUNS} per delay (${DELAYS.join(' and ')} ms)`)
    const a = await scripted(work)
    const installs = DELAYS.flatMap(d => a.runs[d]).filter(r => r.calls.some(c => c.argv[0] === 'run')).length
    a.qemuNote =
      `${emu.join(', ') || 'no emulator'} ${emu.length === 1 ? 'is' : 'are'} registered, and ` +
      (installs === 0 ? 'no run made the install call' : `${installs} runs made the install call`)

    let skipped = ''
    if (!env.CTR_REGISTRY || !env.CTR_REGISTRY_USER || !env.CTR_REGISTRY_PASSWORD || !env.CTR_REGISTRY_NOAUTH || !env.CTR_BASE_IMAGE) {
      skipped = 'CTR_REGISTRY, CTR_REGISTRY_USER, CTR_REGISTRY_PASSWORD, CTR_REGISTRY_NOAUTH and CTR_BASE_IMAGE are not all set (source the toolchain env.sh)'
    } else if (env.BENCH_SKIP_REAL === '1') {
      skipped = 'BENCH_SKIP_REAL=1'
    }
    let b
    let c
    if (!skipped) {
      // The tags the action derived in part a, on the real registry's image.
      const tags = a.runs[0][0].outputs.tags.split('\n').filter(Boolean).map(ref => `${IMAGE}:${ref.slice(ref.lastIndexOf(':') + 1)}`)
      progress(`real toolchain: ${PAIRS} A/B pairs, tags ${tags.join(' ')}`)
      b = await comparison(work, tags)
      progress('registry cache: first and second release')
      c = await registryCache(work)
    }
    const machine = {
      nproc: firstLine('nproc', []) || String(os.cpus().length),
      loadStart,
      loadEnd: os.loadavg().map(l => l.toFixed(2)).join(' '),
      emulators: emu,
      disturbances,
      buildx: skipped ? '' : firstLine('docker', ['buildx', 'version']).replace(/^github\.com\/docker\//, ''),
      engine: skipped ? '' : firstLine('docker', ['version', '--format', '{{.Server.Version}}'])
    }
    const text = report({
      startedAt,
      seconds: (Date.now() - started) / 1000,
      machine,
      a,
      bundleInfo: bundle(),
      b,
      c,
      skipped
    })
    process.stdout.write(`${text}\n`)
    writeFileSync(path.join(benchDir, 'RESULTS.md'), `${text}\n`)
    progress('wrote bench/RESULTS.md')
  } finally {
    if (env.BENCH_KEEP === '1') progress(`kept ${work}`)
    else rmSync(work, { recursive: true, force: true })
  }
}

main().catch(e => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exitCode = 1
})
