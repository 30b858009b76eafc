import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DockerCommandError, InputError } from '../../src/errors.js'
import { classifyError, classifyFailure, describeFailure, failureText, withRetry, type FailureClass } from '../../src/retry.js'
import { captureStdout } from '../fixtures/inputs.js'

const fixtureDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'errors')

function fixture(name: string): string {
  return readFileSync(path.join(fixtureDir, `${name}.txt`), 'utf8')
}

// The fault server of capture.sh listens on a new loopback port each capture, so expectations
// name the host the fixture's own request went to as {host}.
function hostOf(text: string): string {
  const url = /http:\/\/([^/\s"]+)\/v2\//.exec(text)
  if (url) return url[1]
  const ref = /(127\.0\.0\.1:\d+)\//.exec(text)
  if (!ref) throw new Error(`no registry host in fixture:\n${text}`)
  return ref[1]
}

/** buildx's final "ERROR:" line, which holds ids that change with every capture. */
function errorLine(text: string): string {
  return text.split('\n').filter(l => l.startsWith('ERROR: ')).pop() ?? ''
}

function expand(expected: FailureClass, host: string, error: string): FailureClass {
  const sub = (s: string): string => s.replaceAll('{host}', host).replaceAll('{error}', error)
  return {
    ...expected,
    reason: sub(expected.reason),
    ...(expected.hint !== undefined ? { hint: sub(expected.hint) } : {})
  }
}

const RATE_LIMIT_HINT = '{host} limits the request rate: log in to it to raise the limit, or retry later'
const HUB_RATE_LIMIT_HINT =
  'log in to Docker Hub (registry-auth with a Docker Hub user and access token: authenticated pulls have a higher limit) ' +
  'or pull through a mirror (registry-mirrors: mirror.gcr.io)'
const DAEMON_HINT = 'start Docker on the runner, or set DOCKER_HOST to the socket or address of a running Docker daemon'
const REFUSED_HINT = 'check the registry address ({host}) and that the registry is running'
const PUSH_DENIED_HINT = 'the account may not push to this repository at {host}: check its permissions there'

const expectations: Record<string, FailureClass> = {
  'login-401': { transient: false, reason: 'unauthorized (401) at {host}', hint: 'check the username and password (or token) for {host}' },
  'login-429': { transient: true, reason: 'rate-limited (429 Too Many Requests) by {host}', hint: RATE_LIMIT_HINT },
  'login-502': { transient: true, reason: '{host} answered 502 Bad Gateway' },
  'login-503': { transient: true, reason: '{host} answered 503 Service Unavailable' },
  'login-connection-refused': { transient: true, reason: '{host} refused the connection', hint: REFUSED_HINT },
  'login-connection-reset': { transient: true, reason: 'the connection to {host} was reset' },
  'login-eof': { transient: true, reason: 'the connection to {host} closed before an answer (EOF)' },
  'login-timeout': { transient: true, reason: '{host} did not answer in time' },

  'inspect-401': {
    transient: false,
    reason: 'unauthorized (401)',
    hint: 'log in to the registry: set registry, username and password, or registry-auth'
  },
  'inspect-403': {
    transient: false,
    reason: 'access denied (403) at {host}',
    hint: 'the account may not read this repository at {host}: check the image name and that the credentials have access to it'
  },
  'inspect-429': { transient: true, reason: 'rate-limited (429 Too Many Requests) by {host}', hint: RATE_LIMIT_HINT },
  'inspect-503': { transient: true, reason: '{host} answered 503 Service Unavailable' },
  'inspect-connection-refused': { transient: true, reason: '{host} refused the connection', hint: REFUSED_HINT },
  'inspect-connection-reset': { transient: true, reason: 'the connection to {host} was reset' },
  'inspect-dial-timeout': { transient: true, reason: '{host} did not answer in time' },
  'inspect-eof': { transient: true, reason: 'the connection to {host} closed before an answer (EOF)' },
  'inspect-not-found': {
    transient: false,
    reason: '{host}/multiarch-release/does-not-exist:latest was not found',
    hint: 'check the image name and tag'
  },

  'push-401': { transient: false, reason: 'unauthorized (401) at {host}', hint: 'check the username and password (or token) for {host}' },
  'push-403': { transient: false, reason: 'access denied (403) at {host}', hint: PUSH_DENIED_HINT },
  'push-upload-403': { transient: false, reason: 'access denied (403) at {host}', hint: PUSH_DENIED_HINT },
  'push-429': { transient: true, reason: 'rate-limited (429 Too Many Requests) by {host}', hint: RATE_LIMIT_HINT },
  'push-502': { transient: true, reason: '{host} answered 502 Bad Gateway' },
  'push-503': { transient: true, reason: '{host} answered 503 Service Unavailable' },
  'push-upload-503': { transient: true, reason: '{host} answered 503 Service Unavailable' },
  'push-connection-refused': { transient: true, reason: '{host} refused the connection', hint: REFUSED_HINT },
  'push-connection-reset': { transient: true, reason: 'the connection to {host} was reset' },
  'push-eof': { transient: true, reason: 'the connection to {host} closed before an answer (EOF)' },

  'base-401': {
    transient: false,
    reason: 'unauthorized (401) at {host}',
    hint: 'the base image is private: log in to {host} (registry-auth, or registry, username and password)'
  },
  'base-429': { transient: true, reason: 'rate-limited (429 Too Many Requests) by {host}', hint: RATE_LIMIT_HINT },
  'base-503': { transient: true, reason: '{host} answered 503 Service Unavailable' },
  'base-not-found': {
    transient: false,
    reason: 'the base image {host}/multiarch-release/no-such-base:latest was not found',
    hint: 'check the FROM lines and the build-args they use: the name or tag is wrong, or the image is private and needs a login'
  },

  'manifest-toomanyrequests': { transient: true, reason: 'rate-limited (429 Too Many Requests)', hint: HUB_RATE_LIMIT_HINT },
  'manifest-429-retry-after': {
    transient: true,
    reason: 'rate-limited (429 Too Many Requests)',
    retryAfterSeconds: 7,
    hint: HUB_RATE_LIMIT_HINT
  },
  'manifest-name-unknown': {
    transient: false,
    reason: 'the repository does not exist (name unknown)',
    hint: 'check the image name; some registries need the repository created before the first push'
  },
  'manifest-manifest-unknown': { transient: false, reason: 'the tag or digest does not exist (manifest unknown)', hint: 'check the tag or digest' },
  'manifest-denied': {
    transient: false,
    reason: 'access denied (403)',
    hint: 'the account may not read this repository: check the image name and that the credentials have access to it'
  },

  'copy-missing-file': { transient: false, reason: '{error}' },
  'run-step-failed': {
    transient: false,
    reason: 'a build step failed with exit code 4',
    hint: 'see the output of the failing step in the build log above'
  },
  'daemon-unreachable-build': { transient: false, reason: 'the Docker daemon at unix:///nonexistent.sock is unreachable', hint: DAEMON_HINT },
  'daemon-unreachable-create': { transient: false, reason: 'the Docker daemon at unix:///nonexistent.sock is unreachable', hint: DAEMON_HINT },
  'daemon-unreachable-run': { transient: false, reason: 'the Docker daemon at unix:///nonexistent.sock is unreachable', hint: DAEMON_HINT },
  'daemon-permission-denied': {
    transient: false,
    reason: 'no permission to use the Docker daemon socket at unix:///var/run/docker.sock',
    hint: "run the job as a user in the docker group (on a self-hosted runner, add the runner's user to it and restart the runner)"
  }
}

const NO_HOST = new Set([
  'inspect-401',
  'manifest-toomanyrequests',
  'manifest-429-retry-after',
  'manifest-name-unknown',
  'manifest-manifest-unknown',
  'manifest-denied',
  'run-step-failed',
  'copy-missing-file',
  'daemon-unreachable-build',
  'daemon-unreachable-create',
  'daemon-unreachable-run',
  'daemon-permission-denied'
])

describe('classifyFailure on captured docker/buildx output', () => {
  test('every fixture has an expectation and every expectation a fixture', () => {
    const fixtures = readdirSync(fixtureDir)
      .filter(f => f.endsWith('.txt'))
      .map(f => f.slice(0, -'.txt'.length))
      .sort()
    expect(fixtures).toEqual(Object.keys(expectations).sort())
  })

  test.each(Object.entries(expectations))('%s', (name, expected) => {
    const text = fixture(name)
    const host = NO_HOST.has(name) ? '' : hostOf(text)
    expect(classifyFailure(text)).toEqual(expand(expected, host, errorLine(text)))
  })
})

describe('classifyFailure: what decides', () => {
  test('a RUN step whose output mentions a reset connection is a failed build, not a network failure', () => {
    const text = fixture('run-step-failed')
    expect(text).toContain('Connection reset by peer')
    expect(classifyFailure(text).transient).toBe(false)
  })

  test('BuildKit retry chatter in the progress log does not hide the final 403', () => {
    const reset = fixture('push-connection-reset').split('\n').filter(l => !l.startsWith('ERROR: ')).join('\n')
    const denied = fixture('push-upload-403').split('\n').find(l => l.startsWith('ERROR: '))!
    expect(classifyFailure(`${reset}\n${denied}\n`).transient).toBe(false)
  })

  test('a file missing from the context is not a missing image', () => {
    const text = fixture('copy-missing-file')
    expect(errorLine(text)).toMatch(/: "\/missing\.txt": not found$/)
    expect(classifyFailure(text).hint).toBeUndefined()
  })

  test('digests whose hex holds 401, 403, 429 or 503 are not status codes', () => {
    const text =
      'ERROR: failed to solve: failed to push 127.0.0.1:5000/app:1: failed to do request: Head ' +
      '"http://127.0.0.1:5000/v2/app/blobs/sha256:401403429503401403429503401403429503401403429503401403429503abcd": EOF'
    expect(classifyFailure(text)).toEqual({ transient: true, reason: 'the connection to 127.0.0.1:5000 closed before an answer (EOF)' })
  })

  test('unknown output is permanent and quotes the decisive line', () => {
    expect(classifyFailure('ERROR: failed to solve: dockerfile parse error on line 3: unknown instruction: RUNN\n')).toEqual({
      transient: false,
      reason: 'ERROR: failed to solve: dockerfile parse error on line 3: unknown instruction: RUNN'
    })
    expect(classifyFailure('')).toEqual({ transient: false, reason: 'no error output' })
  })

  test('a long unknown line is cut at 200 characters', () => {
    const reason = classifyFailure(`ERROR: ${'x'.repeat(300)}`).reason
    expect(reason).toBe(`ERROR: ${'x'.repeat(193)}…`)
  })
})

describe('classifyFailure: hints for the hosted registries', () => {
  // The same output as the fixture's, as buildx prints it when the registry is GHCR or Docker Hub.
  const onHost = (name: string, host: string): string => fixture(name).replaceAll(hostOf(fixture(name)), host)

  test.each<[string, string, FailureClass]>([
    [
      'push-upload-403',
      'ghcr.io',
      {
        transient: false,
        reason: 'access denied (403) at ghcr.io',
        hint:
          'the token may not write this package: give the job `permissions: packages: write`; for a package that already exists, ' +
          "also give this repository write access in the package's settings (Manage Actions access)"
      }
    ],
    [
      'push-upload-403',
      'registry-1.docker.io',
      {
        transient: false,
        reason: 'access denied (403) at docker.io',
        hint:
          "use a Docker Hub access token with Read & Write scope, and push to a repository in a namespace that user may write to (the user's own or an organization's)"
      }
    ],
    [
      'push-401',
      'ghcr.io',
      {
        transient: false,
        reason: 'unauthorized (401) at ghcr.io',
        hint: 'log in to ghcr.io with a token that may write packages: give the job `permissions: packages: write` (the github-token input is used for ghcr.io by default)'
      }
    ],
    [
      'login-401',
      'index.docker.io',
      {
        transient: false,
        reason: 'unauthorized (401) at docker.io',
        hint: 'log in to Docker Hub with your user name and a personal access token with Read & Write scope as the password'
      }
    ],
    ['base-429', 'registry-1.docker.io', { transient: true, reason: 'rate-limited (429 Too Many Requests) by docker.io', hint: HUB_RATE_LIMIT_HINT }],
    ['base-429', 'quay.io', { transient: true, reason: 'rate-limited (429 Too Many Requests) by quay.io', hint: 'quay.io limits the request rate: log in to it to raise the limit, or retry later' }]
  ])('%s on %s', (name, host, expected) => {
    expect(classifyFailure(onHost(name, host))).toEqual(expected)
  })
})

describe('failureText, classifyError and describeFailure', () => {
  test('a DockerCommandError is classified by its stderr, not by its command line', () => {
    const e = new DockerCommandError('docker buildx build --build-arg NOTE=401 Unauthorized .', 1, fixture('push-503'))
    expect(failureText(e)).toBe(fixture('push-503'))
    expect(classifyError(e).transient).toBe(true)
  })

  test('a plain Error is classified by its message, a thrown string by itself', () => {
    const login = new Error(`Login to 127.0.0.1:5000 as testuser failed\n${fixture('login-401')}`)
    expect(classifyError(login)).toEqual({
      transient: false,
      reason: 'unauthorized (401) at 127.0.0.1:5000',
      hint: 'check the username and password (or token) for 127.0.0.1:5000'
    })
    expect(classifyError(fixture('inspect-eof')).transient).toBe(true)
  })

  test('an empty stderr falls back to the message', () => {
    const e = new DockerCommandError('docker buildx version', 1, '')
    expect(failureText(e)).toBe('`docker buildx version` failed with exit code 1 and no error output')
  })

  test('the step failure message puts the diagnosis and the fix first', () => {
    const e = new DockerCommandError('docker buildx create --bootstrap', 1, fixture('daemon-unreachable-create'))
    expect(describeFailure(e)).toBe(
      `The Docker daemon at unix:///nonexistent.sock is unreachable: ${DAEMON_HINT}.\n${e.message}`
    )
  })

  test('without a hint, and for input errors, the message stays as it is', () => {
    const transient = new DockerCommandError('docker login', 1, fixture('login-503'))
    expect(describeFailure(transient)).toBe(transient.message)
    const input = new InputError('images', '"x:1" has a tag: not found')
    expect(describeFailure(input)).toBe(input.message)
    expect(describeFailure('plain string')).toBe('plain string')
  })
})

interface Clock {
  now: () => number
  sleep: (ms: number) => Promise<void>
  slept: number[]
  advance: (ms: number) => void
}

function fakeClock(): Clock {
  let t = 1_000_000
  const slept: number[] = []
  return {
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms)
      t += ms
    },
    slept,
    advance: (ms: number) => {
      t += ms
    }
  }
}

/** Returns the given values in turn, as a seeded generator would, and fails when they run out. */
function sequence(...values: number[]): () => number {
  let i = 0
  return () => {
    if (i >= values.length) throw new Error('random called more often than expected')
    return values[i++]
  }
}

function failing(name: string): DockerCommandError {
  return new DockerCommandError('docker buildx imagetools inspect --raw 127.0.0.1:5001/app@sha256:0', 1, fixture(name))
}

describe('withRetry', () => {
  test('returns the first success without waiting or logging', async () => {
    const clock = fakeClock()
    const log: string[] = []
    const attempts: number[] = []
    const result = await withRetry('inspect', async attempt => {
      attempts.push(attempt)
      return 'ok'
    }, { retries: 3, sleep: clock.sleep, now: clock.now, random: sequence(), log: m => log.push(m) })
    expect({ result, attempts, slept: clock.slept, log }).toEqual({ result: 'ok', attempts: [1], slept: [], log: [] })
  })

  test('retries transient failures with exponential backoff and full jitter, logging each reason', async () => {
    const clock = fakeClock()
    const log: string[] = []
    const attempts: number[] = []
    const errors = [failing('inspect-503'), failing('inspect-connection-reset'), failing('inspect-eof')]
    const result = await withRetry(
      'read the pushed index',
      async attempt => {
        attempts.push(attempt)
        const e = errors[attempt - 1]
        if (e) throw e
        return 'index'
      },
      { retries: 3, sleep: clock.sleep, now: clock.now, random: sequence(0.5, 0.25, 0.9), log: m => log.push(m) }
    )
    const h503 = hostOf(fixture('inspect-503'))
    const hReset = hostOf(fixture('inspect-connection-reset'))
    const hEof = hostOf(fixture('inspect-eof'))
    expect(result).toBe('index')
    expect(attempts).toEqual([1, 2, 3, 4])
    // Bounds 1000, 2000, 4000 ms; the waits are random × bound.
    expect(clock.slept).toEqual([500, 500, 3600])
    expect(log).toEqual([
      `read the pushed index failed (${h503} answered 503 Service Unavailable); retry 1 of 3 in 0.5s`,
      `read the pushed index failed (the connection to ${hReset} was reset); retry 2 of 3 in 0.5s`,
      `read the pushed index failed (the connection to ${hEof} closed before an answer (EOF)); retry 3 of 3 in 3.6s`
    ])
  })

  test('a permanent failure is thrown at once, unchanged', async () => {
    const clock = fakeClock()
    const log: string[] = []
    const denied = failing('push-upload-403')
    let calls = 0
    await expect(
      withRetry('push', async () => {
        calls++
        throw denied
      }, { retries: 5, sleep: clock.sleep, now: clock.now, random: sequence(), log: m => log.push(m) })
    ).rejects.toBe(denied)
    expect({ calls, slept: clock.slept, log }).toEqual({ calls: 1, slept: [], log: [] })
  })

  test('gives up after the last retry and throws the last error', async () => {
    const clock = fakeClock()
    const log: string[] = []
    const errors = [failing('inspect-503'), failing('inspect-503'), failing('inspect-eof')]
    let calls = 0
    await expect(
      withRetry('inspect', async attempt => {
        calls++
        throw errors[attempt - 1]
      }, { retries: 2, baseMs: 100, sleep: clock.sleep, now: clock.now, random: sequence(0.5, 0.5), log: m => log.push(m) })
    ).rejects.toBe(errors[2])
    expect(calls).toBe(3)
    expect(clock.slept).toEqual([50, 100])
    expect(log[2]).toBe(`inspect failed (the connection to ${hostOf(fixture('inspect-eof'))} closed before an answer (EOF)) 3 times; giving up`)
    expect(log).toHaveLength(3)
  })

  test('retries: 0 makes one attempt and logs nothing', async () => {
    const clock = fakeClock()
    const log: string[] = []
    const e = failing('inspect-503')
    await expect(
      withRetry('inspect', async () => {
        throw e
      }, { retries: 0, sleep: clock.sleep, now: clock.now, random: sequence(), log: m => log.push(m) })
    ).rejects.toBe(e)
    expect({ slept: clock.slept, log }).toEqual({ slept: [], log: [] })
  })

  test('each wait is capped', async () => {
    const clock = fakeClock()
    let calls = 0
    await expect(
      withRetry('inspect', async () => {
        calls++
        throw failing('push-502')
      }, { retries: 4, baseMs: 1000, capMs: 3000, sleep: clock.sleep, now: clock.now, random: sequence(0.999, 0.999, 0.999, 0.999), log: () => {} })
    ).rejects.toBeInstanceOf(DockerCommandError)
    expect(calls).toBe(5)
    // Bounds 1000, 2000, then 4000 and 8000 capped to 3000.
    expect(clock.slept).toEqual([999, 1998, 2997, 2997])
  })

  test('a Retry-After the registry asks for is the least wait, capped', async () => {
    const run = async (capMs: number): Promise<number[]> => {
      const clock = fakeClock()
      await withRetry('pull', async attempt => {
        if (attempt === 1) throw failing('manifest-429-retry-after')
        return attempt
      }, { retries: 1, capMs, sleep: clock.sleep, now: clock.now, random: sequence(0.1), log: () => {} })
      return clock.slept
    }
    expect(await run(30_000)).toEqual([7000])
    expect(await run(5000)).toEqual([5000])
  })

  test('no retry starts after the total budget', async () => {
    const clock = fakeClock()
    const log: string[] = []
    const attempts: number[] = []
    await expect(
      withRetry('push', async attempt => {
        attempts.push(attempt)
        clock.advance(20_000)
        throw failing('push-503')
      }, { retries: 10, baseMs: 10_000, totalMs: 60_000, sleep: clock.sleep, now: clock.now, random: sequence(0.5, 0.5, 0.5), log: m => log.push(m) })
    ).rejects.toBeInstanceOf(DockerCommandError)
    // 20 s + 5 s wait, 20 s + 10 s wait, 20 s: at 75 s even the (capped) 15 s wait is past 60 s.
    expect(attempts).toEqual([1, 2, 3])
    expect(clock.slept).toEqual([5000, 10_000])
    expect(log[2]).toBe(
      `push failed (${hostOf(fixture('push-503'))} answered 503 Service Unavailable); giving up: a retry in 15.0s would pass the 60.0s retry budget`
    )
  })

  test('plain errors and thrown strings are classified by their text', async () => {
    const clock = fakeClock()
    const log: string[] = []
    const result = await withRetry('login', async attempt => {
      if (attempt === 1) throw new Error(`Login failed\n${fixture('login-connection-reset')}`)
      if (attempt === 2) throw fixture('login-timeout')
      return attempt
    }, { retries: 2, sleep: clock.sleep, now: clock.now, random: sequence(0, 0), log: m => log.push(m) })
    expect(result).toBe(3)
    expect(clock.slept).toEqual([0, 0])
    expect(log).toHaveLength(2)
  })

  test.each([-1, 1.5, Number.NaN])('rejects retries %p', async retries => {
    await expect(withRetry('x', async () => 1, { retries })).rejects.toThrow(`withRetry: retries must be a whole number >= 0, got ${retries}`)
  })

  test('logs through core.warning by default', async () => {
    const stdout = captureStdout()
    try {
      await withRetry('inspect', async attempt => {
        if (attempt === 1) throw failing('inspect-503')
        return attempt
      }, { retries: 1, sleep: async () => {}, random: () => 0 })
    } finally {
      stdout.restore()
    }
    expect(stdout.text()).toContain(
      `::warning::inspect failed (${hostOf(fixture('inspect-503'))} answered 503 Service Unavailable); retry 1 of 1 in 0.0s`
    )
  })
})
