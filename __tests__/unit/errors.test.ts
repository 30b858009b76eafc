import { DockerCommandError, InputError, errorMessage, tail } from '../../src/errors.js'
import { cliFixture } from '../fixtures/cli.js'

const numbered = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`)

describe('DockerCommandError', () => {
  test.each<[string, string, number, string, string]>([
    [
      'captured stderr of a refused login',
      'docker login --username testuser --password-stdin 127.0.0.1:5000',
      1,
      cliFixture('login-unauthorized.stderr.txt'),
      '`docker login --username testuser --password-stdin 127.0.0.1:5000` failed with exit code 1:\n' +
        'Error response from daemon: login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized'
    ],
    [
      'captured stderr of two lines',
      'docker buildx rm --force default',
      1,
      cliFixture('buildx-rm-default.stderr.txt'),
      '`docker buildx rm --force default` failed with exit code 1:\n' +
        'failed to remove default: context builder cannot be removed, run `docker context rm default` to remove this context\n' +
        'ERROR: failed to remove one or more builders'
    ],
    [
      'only the last 20 lines of a long stderr',
      'docker buildx build --platform linux/amd64 -- .',
      1,
      `${numbered(1, 25).join('\n')}\n\n`,
      `\`docker buildx build --platform linux/amd64 -- .\` failed with exit code 1:\n${numbered(6, 25).join('\n')}`
    ],
    ['empty stderr says so', 'docker buildx version', 125, '', '`docker buildx version` failed with exit code 125 and no error output'],
    ['whitespace-only stderr says so', 'docker logout ghcr.io', 1, ' \n\n', '`docker logout ghcr.io` failed with exit code 1 and no error output']
  ])('%s', (_name, command, exitCode, stderr, message) => {
    const error = new DockerCommandError(command, exitCode, stderr)
    expect(error).toBeInstanceOf(Error)
    expect([error.name, error.message, error.command, error.exitCode, error.stderr]).toEqual(['DockerCommandError', message, command, exitCode, stderr])
  })
})

test.each<[string, number, string]>([
  ['a\nb\nc\n\n', 2, 'b\nc'],
  ['a\nb', 5, 'a\nb'],
  ['', 3, '']
])('tail(%j, %d)', (text, count, expected) => {
  expect(tail(text, count)).toEqual(expected)
})

test('InputError names the input', () => {
  const error = new InputError('platforms', '"linux/x" is not a platform')
  expect([error.name, error.message, error.input]).toEqual(['InputError', 'Input "platforms": "linux/x" is not a platform', 'platforms'])
})

describe('errorMessage', () => {
  const circular: Record<string, unknown> = { a: 1 }
  circular.self = circular

  test.each<[string, unknown, string]>([
    ['an Error', new Error('boom'), 'boom'],
    ['a subclass of Error', new DockerCommandError('docker buildx version', 125, ''), '`docker buildx version` failed with exit code 125 and no error output'],
    ['a string', 'plain string thrown', 'plain string thrown'],
    ['an empty string', '', ''],
    ['an object', { code: 'EACCES', errno: -13 }, '{"code":"EACCES","errno":-13}'],
    ['an array', ['a', 1], '["a",1]'],
    ['a number', 42, '42'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a circular object', circular, '[object Object]'],
    ['a bigint', 10n, '10'],
    ['a symbol', Symbol('why'), 'Symbol(why)']
  ])('%s', (_name, thrown, expected) => {
    expect(errorMessage(thrown)).toEqual(expected)
  })
})
