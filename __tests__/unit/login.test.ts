import type { Credential } from '../../src/credentials.js'
import type { ExecResult } from '../../src/docker.js'
import { login, loginArgs, logout, logoutArgs } from '../../src/login.js'
import { describeFailure } from '../../src/retry.js'
import { RecordingDocker, cliFixture, failed, ok } from '../fixtures/cli.js'

// Captured by capture-cli.sh against the toolchain's loopback registries, whose addresses
// the expectations below spell out.
const UNAUTHORIZED = cliFixture('login-unauthorized.stderr.txt')
const REFUSED = cliFixture('login-connection-refused.stderr.txt')

const PASSWORD = 'p4ss-w0rd-never-in-argv'
const LOCAL: Credential = { registry: '127.0.0.1:5000', username: 'testuser', password: PASSWORD }

describe('loginArgs', () => {
  test.each<[Credential, string[]]>([
    [LOCAL, ['login', '--username', 'testuser', '--password-stdin', '127.0.0.1:5000']],
    [{ registry: 'ghcr.io', username: 'octocat', password: 'ghs_token' }, ['login', '--username', 'octocat', '--password-stdin', 'ghcr.io']],
    [{ registry: 'docker.io', username: '12345', password: 'dckr_pat_abc' }, ['login', '--username', '12345', '--password-stdin', 'docker.io']]
  ])('%j', (credential, expected) => {
    const argv = loginArgs(credential)
    expect(argv).toEqual(expected)
    expect(argv.filter(arg => arg.includes(credential.password))).toEqual([])
  })
})

test.each<[string, string[]]>([
  ['ghcr.io', ['logout', 'ghcr.io']],
  ['127.0.0.1:5000', ['logout', '127.0.0.1:5000']]
])('logoutArgs(%s)', (registry, expected) => {
  expect(logoutArgs(registry)).toEqual(expected)
})

describe('login', () => {
  test('the password arrives only as input, on a silent call', async () => {
    const docker = new RecordingDocker(ok(cliFixture('login-succeeded.stdout.txt')))
    await login(docker, LOCAL)
    expect(docker.calls).toEqual([
      {
        via: 'run',
        args: ['login', '--username', 'testuser', '--password-stdin', '127.0.0.1:5000'],
        options: { input: PASSWORD, silent: true, allowFailure: true }
      }
    ])
  })

  test.each<[string, Credential, ExecResult, string, string]>([
    [
      'refused credentials',
      LOCAL,
      failed(UNAUTHORIZED),
      'Login to 127.0.0.1:5000 as testuser failed:\n' +
        'Error response from daemon: login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized',
      'Unauthorized (401) at 127.0.0.1:5000: check the username and password (or token) for 127.0.0.1:5000.'
    ],
    [
      'an unreachable registry',
      { registry: '127.0.0.1:9', username: 'user', password: PASSWORD },
      failed(REFUSED),
      'Login to 127.0.0.1:9 as user failed:\n' +
        'Error response from daemon: Get "http://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused',
      '127.0.0.1:9 refused the connection: check the registry address (127.0.0.1:9) and that the registry is running.'
    ]
  ])('%s: the error names registry, user and reason, never the password', async (_name, credential, answer, message, hint) => {
    const docker = new RecordingDocker(answer)
    const error = await login(docker, credential).then(
      () => undefined,
      (e: unknown) => e
    )
    expect((error as Error).message).toEqual(message)
    expect(describeFailure(error)).toEqual(`${hint}\n${message}`)
    expect(describeFailure(error).includes(PASSWORD)).toBe(false)
  })
})

describe('logout', () => {
  test('runs docker logout silently', async () => {
    const docker = new RecordingDocker(ok(cliFixture('logout.stdout.txt')))
    await logout(docker, '127.0.0.1:5000')
    expect(docker.calls).toEqual([{ via: 'run', args: ['logout', '127.0.0.1:5000'], options: { silent: true } }])
  })
})
