// Runs the bundled action the way the GitHub runner does: INPUT_* from action.yml,
// file commands, main then post with STATE_*. Used by the e2e tests, bench/ and by hand:
//   node scripts/harness.js --event-name release --event event.json --ref refs/tags/v1.2.3 \
//     --input images=registry.example/app --input platforms=linux/amd64,linux/arm64 --cwd ./app
import { spawn } from 'node:child_process'
import http from 'node:http'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { load } from 'js-yaml'
import { invokedDirectly } from './invoked.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export const DEFAULT_GITHUB_TOKEN = 'ghs_harness-token-not-real'
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000

// The runner escalates a cancelled step this way: SIGINT, 7.5 s, SIGTERM, 2.5 s, SIGKILL.
const CANCEL_SIGNALS = [
  ['SIGINT', 7500],
  ['SIGTERM', 2500],
  ['SIGKILL', 0]
]
const TIMEOUT_SIGNALS = [
  ['SIGTERM', 5000],
  ['SIGKILL', 0]
]

// Only these come from the parent: a run must not depend on (or leak) whatever the
// test process happens to have, above all the parent's own GITHUB_*/INPUT_*/STATE_*.
const PASS_THROUGH = ['PATH', 'HOME', 'DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'SSL_CERT_FILE', 'TMPDIR', 'LANG', 'USER']

let cachedAction

function readAction() {
  if (!cachedAction) {
    const doc = load(readFileSync(path.join(repoRoot, 'action.yml'), 'utf8'))
    if (!doc || typeof doc !== 'object' || !doc.inputs || typeof doc.inputs !== 'object') {
      throw new Error('action.yml has no inputs map')
    }
    cachedAction = doc
  }
  return cachedAction
}

/** Every input of action.yml with its default ('' where it declares none), expressions unresolved. */
export function actionDefaults() {
  const inputs = readAction().inputs
  const defaults = {}
  for (const [name, spec] of Object.entries(inputs)) {
    const value = spec && typeof spec === 'object' && 'default' in spec ? spec.default : ''
    defaults[name] = value === null || value === undefined ? '' : String(value)
  }
  return defaults
}

/** The variable @actions/core reads for an input: spaces become `_`, hyphens stay. */
export function inputEnvName(name) {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

/**
 * The INPUT_* variables for one run: every action.yml input, given or defaulted, with
 * `${{ github.token }}` resolved. An input action.yml does not declare is a test bug.
 */
export function inputEnv(inputs = {}, githubToken = DEFAULT_GITHUB_TOKEN) {
  const defaults = actionDefaults()
  const unknown = Object.keys(inputs).filter(name => !(name in defaults))
  if (unknown.length > 0) {
    throw new Error(`Unknown input(s) ${unknown.join(', ')}; action.yml declares: ${Object.keys(defaults).join(', ')}`)
  }
  const env = {}
  for (const [name, fallback] of Object.entries(defaults)) {
    const given = inputs[name]
    const value = given === undefined || given === null ? resolveExpressions(fallback, githubToken) : String(given)
    env[inputEnvName(name)] = value
  }
  return env
}

function resolveExpressions(value, githubToken) {
  return value.replace(/\$\{\{\s*github\.token\s*\}\}/g, githubToken)
}

/**
 * Parses a GITHUB_OUTPUT / GITHUB_STATE / GITHUB_ENV file as the runner does:
 * `name=value` lines and `name<<DELIMITER` ... `DELIMITER` blocks; later names win.
 */
export function parseCommandFile(text) {
  const result = {}
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line === '') continue
    const eq = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      const name = line.slice(0, eq)
      if (!name) throw new Error(`Invalid command file line ${i + 1}: empty name`)
      result[name] = line.slice(eq + 1)
    } else if (heredoc >= 0) {
      const name = line.slice(0, heredoc)
      const delimiter = line.slice(heredoc + 2)
      if (!name || !delimiter) throw new Error(`Invalid command file line ${i + 1}: ${JSON.stringify(line)}`)
      const value = []
      let closed = false
      for (i++; i < lines.length; i++) {
        if (lines[i] === delimiter) {
          closed = true
          break
        }
        value.push(lines[i])
      }
      if (!closed) throw new Error(`Invalid command file: no closing delimiter ${JSON.stringify(delimiter)} for ${name}`)
      result[name] = value.join('\n')
    } else {
      throw new Error(`Invalid command file line ${i + 1}: ${JSON.stringify(line)}`)
    }
  }
  return result
}

/** Values registered with `::add-mask::`, which the runner consumes instead of logging. */
export function parseMasks(text) {
  const masks = []
  for (const line of text.split(/\r?\n/)) {
    const m = /^::add-mask::(.*)$/.exec(line)
    if (m && m[1] !== '') masks.push(m[1])
  }
  return masks
}

function readIfExists(file) {
  return existsSync(file) ? readFileSync(file, 'utf8') : ''
}

function refEnv(ref, event) {
  let refName = ref
  let refType = ''
  if (ref.startsWith('refs/heads/')) {
    refName = ref.slice('refs/heads/'.length)
    refType = 'branch'
  } else if (ref.startsWith('refs/tags/')) {
    refName = ref.slice('refs/tags/'.length)
    refType = 'tag'
  } else if (ref.startsWith('refs/pull/')) {
    refName = ref.slice('refs/pull/'.length)
    refType = 'branch'
  }
  const pr = event && typeof event === 'object' ? event.pull_request : undefined
  return {
    GITHUB_REF: ref,
    GITHUB_REF_NAME: refName,
    GITHUB_REF_TYPE: refType,
    GITHUB_HEAD_REF: pr?.head?.ref ?? '',
    GITHUB_BASE_REF: pr?.base?.ref ?? ''
  }
}

function runnerArch() {
  return { x64: 'X64', arm64: 'ARM64', arm: 'ARM', ia32: 'X86' }[process.arch] ?? process.arch.toUpperCase()
}

function stepFiles(dir, prefix) {
  const files = {
    output: path.join(dir, `${prefix}-output`),
    state: path.join(dir, `${prefix}-state`),
    summary: path.join(dir, `${prefix}-summary.md`)
  }
  for (const file of Object.values(files)) writeFileSync(file, '')
  return files
}

/** @param {import('./harness.js').RunActionOptions} options */
export async function runAction(options = {}) {
  const entry = path.resolve(options.entry ?? path.join(repoRoot, 'dist', 'index.js'))
  if (!existsSync(entry)) {
    throw new Error(`Action entry ${entry} does not exist (run \`npm run build\` first)`)
  }
  const cwd = path.resolve(options.cwd ?? process.cwd())
  const githubToken = options.githubToken ?? DEFAULT_GITHUB_TOKEN
  const inputs = inputEnv(options.inputs ?? {}, githubToken)

  const baseDir = options.workDir ?? os.tmpdir()
  mkdirSync(baseDir, { recursive: true })
  const dir = mkdtempSync(path.join(baseDir, 'mr-run-'))
  const runnerTemp = path.join(dir, 'runner-temp')
  const toolCache = path.join(dir, 'tool-cache')
  mkdirSync(runnerTemp)
  mkdirSync(toolCache)

  const repository = options.repository ?? 'octo-org/octo-repo'
  const [owner, repoName] = repository.split('/')
  const eventName = options.eventName ?? 'push'
  const ref = options.ref ?? 'refs/heads/main'
  const actor = options.actor ?? owner
  const payload = {
    repository: { full_name: repository, name: repoName, owner: { login: owner }, html_url: `https://github.com/${repository}` },
    sender: { login: actor },
    ...(options.event ?? {})
  }
  const eventFile = path.join(dir, 'event.json')
  writeFileSync(eventFile, JSON.stringify(payload, null, 2))
  const envFile = path.join(dir, 'github-env')
  const pathFile = path.join(dir, 'github-path')
  writeFileSync(envFile, '')
  writeFileSync(pathFile, '')

  // A local stand-in for the REST API, so no run reaches the real one.
  const api = await startApiStandIn(options.releases ?? [])
  const env = {}
  for (const name of PASS_THROUGH) {
    if (process.env[name] !== undefined) env[name] = process.env[name]
  }
  // A private Docker config unless the caller brings one, so a run never touches ~/.docker.
  env.DOCKER_CONFIG = path.join(dir, 'docker-config')
  mkdirSync(env.DOCKER_CONFIG)
  Object.assign(env, {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTION: '__multiarch-release',
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: eventFile,
    ...refEnv(ref, payload),
    GITHUB_SHA: options.sha ?? '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REPOSITORY: repository,
    GITHUB_REPOSITORY_OWNER: owner,
    GITHUB_REPOSITORY_ID: '1',
    GITHUB_ACTOR: actor,
    GITHUB_ACTOR_ID: '1',
    GITHUB_TRIGGERING_ACTOR: actor,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: api.url,
    GITHUB_GRAPHQL_URL: `${api.url}/graphql`,
    GITHUB_RUN_ID: options.runId ?? String(1000 + Math.floor(Math.random() * 1e6)),
    GITHUB_RUN_NUMBER: '1',
    GITHUB_RUN_ATTEMPT: options.runAttempt ?? '1',
    GITHUB_WORKSPACE: cwd,
    GITHUB_WORKFLOW: options.workflow ?? 'release',
    GITHUB_JOB: options.job ?? 'release',
    GITHUB_ENV: envFile,
    GITHUB_PATH: pathFile,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: runnerArch(),
    RUNNER_NAME: 'harness',
    RUNNER_ENVIRONMENT: 'self-hosted',
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: toolCache,
    ...inputs
  })
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined || value === null) delete env[name]
    else env[name] = String(value)
  }

  const verbose = options.verbose ?? process.env.MR_E2E_VERBOSE === '1'
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const node = options.node ?? process.execPath

  const mainFiles = stepFiles(dir, 'main')
  const main = await runStep(node, entry, cwd, stepEnv(env, mainFiles), {
    verbose,
    timeoutMs,
    killAfterMs: options.killAfterMs,
    label: 'main'
  })
  const outputs = parseCommandFile(readIfExists(mainFiles.output))
  const state = parseCommandFile(readIfExists(mainFiles.state))

  let post
  let postFiles
  if (!options.skipPost) {
    postFiles = stepFiles(dir, 'post')
    const postEnv = stepEnv(env, postFiles)
    // What main wrote to GITHUB_ENV / GITHUB_PATH reaches every later step, post included.
    Object.assign(postEnv, parseCommandFile(readIfExists(envFile)))
    const added = readIfExists(pathFile).split(/\r?\n/).filter(Boolean).reverse()
    if (added.length > 0) postEnv.PATH = [...added, postEnv.PATH].filter(Boolean).join(path.delimiter)
    for (const [name, value] of Object.entries(state)) postEnv[`STATE_${name}`] = value
    post = await runStep(node, entry, cwd, postEnv, { verbose, timeoutMs, label: 'post' })
  }
  await api.close()

  const summary = readIfExists(mainFiles.summary) + (postFiles ? readIfExists(postFiles.summary) : '')
  const log = [main.stdout, main.stderr, post?.stdout ?? '', post?.stderr ?? ''].join('')
  return {
    main,
    post,
    outputs,
    state,
    summary,
    masks: parseMasks(log),
    env,
    workDir: dir,
    files: { ...mainFiles, event: eventFile, env: envFile, path: pathFile, post: postFiles },
    log
  }
}

/**
 * Answers GET /repos/{owner}/{repo}/releases with the given releases (one page) and
 * counts requests; anything else is a 404.
 */
export async function startApiStandIn(releases) {
  const server = http.createServer((req, res) => {
    stand.requests.push(`${req.method} ${req.url}`)
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (req.method === 'GET' && /^\/repos\/[^/]+\/[^/]+\/releases$/.test(url.pathname)) {
      const page = Number(url.searchParams.get('page') ?? '1')
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(page === 1 ? releases : []))
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end('{"message":"Not Found"}')
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const stand = {
    url: `http://127.0.0.1:${server.address().port}`,
    requests: [],
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
  return stand
}

function stepEnv(env, files) {
  return { ...env, GITHUB_OUTPUT: files.output, GITHUB_STATE: files.state, GITHUB_STEP_SUMMARY: files.summary }
}

function runStep(node, entry, cwd, env, { verbose, timeoutMs, killAfterMs, label }) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    // Its own process group, so a timeout can take down the docker CLIs it started too.
    const child = spawn(node, [entry], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const stdout = []
    const stderr = []
    let timedOut = false
    let killed = false
    const timers = []
    const collect = (chunks, chunk) => {
      chunks.push(chunk)
      if (verbose) process.stderr.write(chunk)
    }
    child.stdout.on('data', chunk => collect(stdout, chunk))
    child.stderr.on('data', chunk => collect(stderr, chunk))

    const escalate = (signals, group) => {
      const [signal, wait] = signals[0]
      if (child.exitCode !== null || child.signalCode !== null) return
      try {
        if (group) process.kill(-child.pid, signal)
        else child.kill(signal)
      } catch {
        // Already gone.
      }
      if (signals.length > 1) timers.push(setTimeout(() => escalate(signals.slice(1), group), wait))
    }
    if (timeoutMs > 0) {
      timers.push(
        setTimeout(() => {
          timedOut = true
          escalate(TIMEOUT_SIGNALS, true)
        }, timeoutMs)
      )
    }
    if (killAfterMs !== undefined && killAfterMs !== null) {
      timers.push(
        setTimeout(() => {
          killed = true
          // Like the runner: only the step's own process is signalled, its children are not.
          escalate(CANCEL_SIGNALS, false)
        }, killAfterMs)
      )
    }

    let exit
    let settled = false
    const finish = () => {
      if (settled) return
      settled = true
      for (const t of timers) clearTimeout(t)
      if (verbose) process.stderr.write(`[harness] ${label} exited ${exit.code ?? exit.signal}\n`)
      resolve({
        exitCode: exit.code,
        signal: exit.signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
        killed,
        durationMs: Date.now() - started
      })
    }
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      exit = { code, signal }
      // Orphaned grandchildren may hold the pipes open; don't wait for them forever.
      timers.push(
        setTimeout(() => {
          child.stdout.destroy()
          child.stderr.destroy()
          finish()
        }, 2000)
      )
    })
    child.on('close', (code, signal) => {
      exit = exit ?? { code, signal }
      finish()
    })
  })
}

/** Runs a command without a shell; throws on a non-zero exit unless allowFailure. */
export function sh(cmd, args = [], { env, input, cwd, allowFailure = false, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: env ? { ...process.env, ...env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: timeoutMs
    })
    const stdout = []
    const stderr = []
    child.stdout.on('data', c => stdout.push(c))
    child.stderr.on('data', c => stderr.push(c))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const result = {
        exitCode: code ?? 128,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8')
      }
      if (result.exitCode !== 0 && !allowFailure) {
        const err = new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}:\n${result.stderr || result.stdout}`)
        Object.assign(err, result)
        reject(err)
      } else {
        resolve(result)
      }
    })
    child.stdin.on('error', () => {
      // The command may exit before reading its input.
    })
    child.stdin.end(input ?? '')
  })
}

async function cli(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'event-name': { type: 'string' },
      event: { type: 'string' },
      ref: { type: 'string' },
      sha: { type: 'string' },
      repository: { type: 'string' },
      input: { type: 'string', multiple: true },
      env: { type: 'string', multiple: true },
      cwd: { type: 'string' },
      entry: { type: 'string' },
      'work-dir': { type: 'string' },
      'timeout-ms': { type: 'string' },
      'kill-after-ms': { type: 'string' },
      'skip-post': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' }
    }
  })
  if (values.help) {
    process.stdout.write(
      'node scripts/harness.js [--event-name NAME] [--event payload.json] [--ref REF] [--sha SHA]\n' +
        '  [--repository owner/name] [--input name=value]... [--env NAME=value]... [--cwd DIR]\n' +
        '  [--entry FILE] [--work-dir DIR] [--timeout-ms N] [--kill-after-ms N] [--skip-post] [--json]\n'
    )
    return 0
  }
  const pairs = list =>
    Object.fromEntries(
      (list ?? []).map(pair => {
        const eq = pair.indexOf('=')
        if (eq <= 0) throw new Error(`Expected name=value, got ${JSON.stringify(pair)}`)
        return [pair.slice(0, eq), pair.slice(eq + 1)]
      })
    )
  const result = await runAction({
    eventName: values['event-name'],
    event: values.event ? JSON.parse(readFileSync(values.event, 'utf8')) : undefined,
    ref: values.ref,
    sha: values.sha,
    repository: values.repository,
    inputs: pairs(values.input),
    env: pairs(values.env),
    cwd: values.cwd,
    entry: values.entry,
    workDir: values['work-dir'],
    timeoutMs: values['timeout-ms'] ? Number(values['timeout-ms']) : undefined,
    killAfterMs: values['kill-after-ms'] ? Number(values['kill-after-ms']) : undefined,
    skipPost: values['skip-post'],
    verbose: !values.json
  })
  if (values.json) {
    const { main, post, outputs, state } = result
    const step = s => s && { exitCode: s.exitCode, signal: s.signal, timedOut: s.timedOut, durationMs: s.durationMs }
    process.stdout.write(JSON.stringify({ main: step(main), post: step(post), outputs, state }, null, 2) + '\n')
  } else {
    for (const [name, value] of Object.entries(result.outputs)) process.stdout.write(`${name}=${value}\n`)
  }
  return result.main.exitCode || result.post?.exitCode || (result.main.exitCode === null ? 1 : 0)
}

if (invokedDirectly(import.meta.url)) {
  cli(process.argv.slice(2)).then(
    code => {
      process.exitCode = code
    },
    (e) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
      process.exitCode = 2
    }
  )
}
