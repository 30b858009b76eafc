import * as core from '@actions/core'
import { errorMessage, InputError } from './errors.js'
import { canonicalRegistry } from './reference.js'

/** What a failed docker/buildx call tells about itself. */
export interface FailureClass {
  /** Worth another attempt: the same call may succeed a little later. */
  transient: boolean
  /** What went wrong, in a few words, for the log. */
  reason: string
  /** A delay the registry asked for, when its answer says so. */
  retryAfterSeconds?: number
  /** What to change so the next run succeeds, for failures a retry cannot fix. */
  hint?: string
}

const HUB_RATE_LIMIT_HINT =
  'log in to Docker Hub (registry-auth with a Docker Hub user and access token: authenticated pulls have a higher limit) ' +
  'or pull through a mirror (registry-mirrors: mirror.gcr.io)'

/**
 * The part of a failed command's output that says why it failed. buildx prints the cause once
 * more as a top-level "ERROR:" line after the progress log; the progress log itself holds RUN
 * output, which may mention anything (even "connection reset by peer") without being the cause.
 */
function decisiveText(output: string): string {
  const lines = output.split(/\r?\n/).map(line => line.trimEnd()).filter(line => line.trim() !== '')
  const top = lines.filter(line => line.startsWith('ERROR: '))
  return (top.length > 0 ? top : lines.slice(-10)).join('\n')
}

/** The registry the failure is about: the host of the first registry URL or image reference. */
function registryOf(text: string): string | undefined {
  const url = /\bhttps?:\/\/([^/\s"']+)\/v2\//i.exec(text)
  const ref = /(?:^|[\s"'(])((?:[a-z0-9-]+\.)+[a-z0-9-]+(?::\d+)?|localhost(?::\d+)?|\[[0-9a-f:]+\](?::\d+)?)\/[a-z0-9]/i.exec(text)
  const host = (url?.[1] ?? ref?.[1])?.toLowerCase()
  if (host === undefined) return undefined
  return canonicalRegistry(host)
}

function at(host: string | undefined): string {
  return host ? ` at ${host}` : ''
}

function by(host: string | undefined): string {
  return host ? ` by ${host}` : ''
}

/** A delay the text asks for: "Retry-After: 7", "retry after 7 seconds", "try again in 7s". */
function retryAfter(text: string): number | undefined {
  const match = /retry-after:?\s*(\d+)|(?:retry after|try again in)\s+(\d+)\s*(?:s\b|sec|second)/i.exec(text)
  if (!match) return undefined
  return Number(match[1] ?? match[2])
}

function unauthorizedHint(host: string | undefined, text: string): string {
  if (host === 'ghcr.io') {
    return 'log in to ghcr.io with a token that may write packages: give the job `permissions: packages: write` (the github-token input is used for ghcr.io by default)'
  }
  if (host === 'docker.io') {
    return 'log in to Docker Hub with your user name and a personal access token with Read & Write scope as the password'
  }
  const where = host ?? 'the registry'
  if (/failed to resolve source metadata/i.test(text)) {
    return `the base image is private: log in to ${where} (registry-auth, or registry, username and password)`
  }
  if (/no basic auth credentials|authorization failed/i.test(text)) {
    return `log in to ${where}: set registry, username and password, or registry-auth`
  }
  return `check the username and password (or token) for ${where}`
}

/** Whether the failed request was part of a push: an upload, a manifest put, or buildx saying so. */
function isPush(text: string): boolean {
  return /failed to push|\b(?:POST|PUT|PATCH) request\b|blobs\/uploads/i.test(text)
}

function deniedHint(host: string | undefined, push: boolean): string {
  if (!push) return `the account may not read this repository${at(host)}: check the image name and that the credentials have access to it`
  if (host === 'ghcr.io') {
    return 'the token may not write this package: give the job `permissions: packages: write`; for a package that already exists, ' +
      "also give this repository write access in the package's settings (Manage Actions access)"
  }
  if (host === 'docker.io') {
    return "use a Docker Hub access token with Read & Write scope, and push to a repository in a namespace that user may write to (the user's own or an organization's)"
  }
  return `the account may not push to this repository${at(host)}: check its permissions there`
}

/**
 * Classifies the output of a failed docker or buildx command: transient failures (5xx, 429,
 * connections reset, closed or timed out) are worth retrying; the rest are permanent and
 * mostly carry a hint of what to fix. Rules are tried in order: a permanent cause that the
 * output states outright wins over network noise printed along with it.
 */
export function classifyFailure(stderr: string): FailureClass {
  const text = decisiveText(stderr)
  const host = registryOf(text)
  const permanent = (reason: string, hint?: string): FailureClass => (hint ? { transient: false, reason, hint } : { transient: false, reason })
  const transient = (reason: string, hint?: string): FailureClass => {
    const delay = retryAfter(text)
    return { transient: true, reason, ...(delay !== undefined ? { retryAfterSeconds: delay } : {}), ...(hint ? { hint } : {}) }
  }

  const daemon = /Cannot connect to the Docker daemon at (\S+?)\.? Is the docker daemon running\?/i.exec(text)
  if (daemon) {
    return permanent(
      `the Docker daemon at ${daemon[1]} is unreachable`,
      'start Docker on the runner, or set DOCKER_HOST to the socket or address of a running Docker daemon'
    )
  }
  const socket = /permission denied while trying to connect to the Docker daemon socket at (\S+?):\s/i.exec(text)
  if (socket) {
    return permanent(
      `no permission to use the Docker daemon socket at ${socket[1]}`,
      "run the job as a user in the docker group (on a self-hosted runner, add the runner's user to it and restart the runner)"
    )
  }
  const step = /did not complete successfully: exit code: (\d+)/.exec(text)
  if (step) return permanent(`a build step failed with exit code ${step[1]}`, 'see the output of the failing step in the build log above')

  if (/\b401 Unauthorized\b|\bstatus: 401\b|\bunauthorized\b|no basic auth credentials|authentication required|incorrect username or password/i.test(text)) {
    return permanent(`unauthorized (401)${at(host)}`, unauthorizedHint(host, text))
  }
  if (/\b403 Forbidden\b|\bstatus: 403\b|^denied\b|\bdenied:|requested access to the resource is denied/im.test(text)) {
    return permanent(`access denied (403)${at(host)}`, deniedHint(host, isPush(text)))
  }
  if (/\b429 Too Many Requests\b|\bstatus: 429\b|toomanyrequests/i.test(text)) {
    const hubOrUnknown = host === undefined || host === 'docker.io'
    return transient(
      `rate-limited (429 Too Many Requests)${by(host)}`,
      hubOrUnknown ? HUB_RATE_LIMIT_HINT : `${host} limits the request rate: log in to it to raise the limit, or retry later`
    )
  }

  const platformGap = /failed to resolve source metadata for (\S+?): no match for platform in manifest/.exec(text)
  if (platformGap) {
    return permanent(
      `the base image ${platformGap[1]} has no image for a requested platform`,
      'pick a base image or tag published for every platform in platforms (preflight: true names the gaps before building), or drop the platforms it lacks'
    )
  }
  const base = /failed to resolve source metadata for (\S+?): .*: not found/.exec(text)
  if (base) {
    return permanent(
      `the base image ${base[1]} was not found`,
      'check the FROM lines and the build-args they use: the name or tag is wrong, or the image is private and needs a login'
    )
  }
  if (/^name unknown\b|\bname unknown:|NAME_UNKNOWN|repository name not known to registry/im.test(text)) {
    return permanent(
      `the repository does not exist${at(host)} (name unknown)`,
      'check the image name; some registries need the repository created before the first push'
    )
  }
  if (/^manifest unknown\b|\bmanifest unknown:|MANIFEST_UNKNOWN|no such manifest/im.test(text)) {
    return permanent(`the tag or digest does not exist${at(host)} (manifest unknown)`, 'check the tag or digest')
  }
  const notFound = /(?:^ERROR: |^Error response from daemon: .*?)(\S+): not found$/m.exec(text)
  if (notFound) return permanent(`${notFound[1]} was not found`, 'check the image name and tag')

  const status = /\b(50[0-4]) (Internal Server Error|Not Implemented|Bad Gateway|Service Unavailable|Gateway Timeout)\b/.exec(text)
  if (status && status[1] !== '501') return transient(`${host ?? 'the registry'} answered ${status[1]} ${status[2]}`)
  if (/connection reset by peer/i.test(text)) return transient(`the connection to ${host ?? 'the registry'} was reset`)
  if (/broken pipe/i.test(text)) return transient(`the connection to ${host ?? 'the registry'} broke (broken pipe)`)
  if (/(?:^|[\s:])(?:unexpected )?EOF$/m.test(text)) return transient(`the connection to ${host ?? 'the registry'} closed before an answer (EOF)`)
  if (/i\/o timeout|Client\.Timeout exceeded|context deadline exceeded|TLS handshake timeout|request canceled while waiting for connection/i.test(text)) {
    return transient(`${host ?? 'the registry'} did not answer in time`)
  }
  if (/connection refused/i.test(text)) {
    return transient(`${host ?? 'the registry'} refused the connection`, `check the registry address${host ? ` (${host})` : ''} and that the registry is running`)
  }
  if (/temporary failure in name resolution|server misbehaving|http2: server sent GOAWAY/i.test(text)) {
    return transient(`the connection to ${host ?? 'the registry'} failed`)
  }

  const first = text.split('\n').find(line => line.trim() !== '') ?? ''
  return permanent(first.length > 200 ? `${first.slice(0, 200)}…` : first || 'no error output')
}

/** The text a failure is classified by: a command's stderr when the error carries one, else its message. */
export function failureText(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'stderr' in e) {
    const stderr = (e as { stderr: unknown }).stderr
    if (typeof stderr === 'string' && stderr.trim() !== '') return stderr
  }
  return errorMessage(e)
}

export function classifyError(e: unknown): FailureClass {
  return classifyFailure(failureText(e))
}

/**
 * The message to fail the step with: what went wrong and how to fix it first, when the
 * failure is a known one, then the error itself. Input errors already say both.
 */
export function describeFailure(e: unknown): string {
  const message = errorMessage(e)
  if (e instanceof InputError) return message
  const { reason, hint } = classifyError(e)
  if (!hint) return message
  return `${reason.charAt(0).toUpperCase()}${reason.slice(1)}: ${hint}.\n${message}`
}

export interface RetryOptions {
  /** Retries after the first attempt; 0 makes one attempt. */
  retries: number
  /** Backoff before the first retry, doubled for each further one, before jitter. */
  baseMs?: number
  /** Longest single wait, also for a Retry-After the registry asks for. */
  capMs?: number
  /** No retry starts later than this after the first attempt started. */
  totalMs?: number
  sleep?: (ms: number) => Promise<void>
  /** In [0, 1): the jitter. */
  random?: () => number
  now?: () => number
  /** Where each retry (and giving up) is reported. */
  log?: (message: string) => void
}

const realSleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}

/**
 * Runs `fn` until it succeeds, a failure is not transient, or the retries or the time budget
 * run out; then the last error is thrown as it was. Waits grow exponentially with full jitter
 * (a uniformly random delay up to the exponential bound), so parallel jobs hitting the same
 * registry do not retry in lockstep; a Retry-After the registry asked for is the minimum wait.
 */
export async function withRetry<T>(what: string, fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const {
    retries,
    baseMs = 1000,
    capMs = 30_000,
    totalMs = 120_000,
    sleep = realSleep,
    random = Math.random,
    now = Date.now,
    log = (message: string) => core.warning(message)
  } = options
  if (!Number.isInteger(retries) || retries < 0) throw new Error(`withRetry: retries must be a whole number >= 0, got ${retries}`)
  const started = now()
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (e: unknown) {
      const failure = classifyError(e)
      if (!failure.transient) throw e
      if (attempt > retries) {
        if (retries > 0) log(`${what} failed (${failure.reason}) ${attempt} times; giving up`)
        throw e
      }
      const bound = Math.min(capMs, baseMs * 2 ** (attempt - 1))
      const jittered = Math.floor(random() * bound)
      const asked = failure.retryAfterSeconds === undefined ? 0 : Math.min(capMs, failure.retryAfterSeconds * 1000)
      const delay = Math.max(jittered, asked)
      const elapsed = now() - started
      if (elapsed + delay > totalMs) {
        log(`${what} failed (${failure.reason}); giving up: a retry in ${seconds(delay)} would pass the ${seconds(totalMs)} retry budget`)
        throw e
      }
      log(`${what} failed (${failure.reason}); retry ${attempt} of ${retries} in ${seconds(delay)}`)
      await sleep(delay)
    }
  }
}
