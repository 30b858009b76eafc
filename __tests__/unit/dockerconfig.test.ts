import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPrivateConfig, keepsLoginsInside, removePrivateConfig, userDockerConfig } from '../../src/dockerconfig.js'

// A user's config as `docker login` and a credential helper setup leave it (tabs, key order and all).
const USER_CONFIG = `{
\t"auths": {
\t\t"127.0.0.1:5000": {
\t\t\t"auth": "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"
\t\t},
\t\t"ghcr.io": {}
\t},
\t"credsStore": "desktop",
\t"credHelpers": {
\t\t"ghcr.io": "gh",
\t\t"gcr.io": "gcloud",
\t\t"127.0.0.1:5000": "pass"
\t},
\t"currentContext": "default",
\t"experimental": "enabled"
}`

let root = ''
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'dockerconfig-'))
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

/** A user config directory with the usual entries; buildx only when asked; no config.json for null. */
function userDir(withBuildx: boolean, config: string | null = USER_CONFIG): string {
  const dir = join(root, 'user')
  mkdirSync(join(dir, 'contexts', 'meta'), { recursive: true })
  mkdirSync(join(dir, 'cli-plugins'))
  writeFileSync(join(dir, 'cli-plugins', 'docker-buildx'), '#!/bin/sh\n')
  if (withBuildx) {
    mkdirSync(join(dir, 'buildx', 'instances'), { recursive: true })
    writeFileSync(join(dir, 'buildx', 'instances', 'mybuilder'), '{}')
  }
  if (config !== null) writeFileSync(join(dir, 'config.json'), config)
  return dir
}

/** What a private directory holds: each entry as a link target (relative to root) or as file text. */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map(entry => {
        const p = join(dir, entry)
        return [entry, lstatSync(p).isSymbolicLink() ? `-> ${readlinkSync(p).slice(root.length + 1)}` : readFileSync(p, 'utf8')]
      })
  )
}

describe('createPrivateConfig', () => {
  test.each<[string, boolean, string[], Record<string, unknown>]>([
    [
      'credsStore dropped, credHelpers dropped for the login registries only',
      true,
      ['ghcr.io', '127.0.0.1:5000'],
      {
        auths: { '127.0.0.1:5000': { auth: 'dGVzdHVzZXI6dGVzdHBhc3N3b3Jk' }, 'ghcr.io': {} },
        credHelpers: { 'gcr.io': 'gcloud' },
        currentContext: 'default',
        experimental: 'enabled'
      }
    ],
    [
      'a registry without a helper leaves the helpers as they are',
      false,
      ['docker.io'],
      {
        auths: { '127.0.0.1:5000': { auth: 'dGVzdHVzZXI6dGVzdHBhc3N3b3Jk' }, 'ghcr.io': {} },
        credHelpers: { 'ghcr.io': 'gh', 'gcr.io': 'gcloud', '127.0.0.1:5000': 'pass' },
        currentContext: 'default',
        experimental: 'enabled'
      }
    ]
  ])('%s; every other entry linked', (_name, withBuildx, registries, expectedConfig) => {
    const user = userDir(withBuildx)
    const before = readFileSync(join(user, 'config.json'))
    const dir = join(root, 'runner-temp', 'docker-config')

    createPrivateConfig(user, dir, registries)

    expect(contents(dir)).toEqual({
      buildx: '-> user/buildx',
      'cli-plugins': '-> user/cli-plugins',
      'config.json': JSON.stringify(expectedConfig, null, 2),
      contexts: '-> user/contexts'
    })
    // The builders' metadata stays in the user's directory, which now has a buildx folder.
    expect(statSync(join(user, 'buildx')).isDirectory()).toBe(true)
    expect(readFileSync(join(user, 'config.json')).equals(before)).toBe(true)
    expect(readdirSync(user).sort()).toEqual(['buildx', 'cli-plugins', 'config.json', 'contexts'])
    expect([statSync(dir).mode & 0o777, statSync(join(dir, 'config.json')).mode & 0o777]).toEqual([0o700, 0o600])
  })

  test.each<[string, string | null]>([
    ['no config.json', null],
    ['a config.json that is not JSON', '{ "auths": '],
    ['an empty config.json', '']
  ])('%s: an empty config', (_name, config) => {
    const user = userDir(true, config)
    const dir = join(root, 'private')
    createPrivateConfig(user, dir, ['ghcr.io'])
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toEqual('{}')
    expect(config === null ? existsSync(join(user, 'config.json')) : readFileSync(join(user, 'config.json'), 'utf8')).toEqual(config ?? false)
  })

  test('a user directory that does not exist yet is created with its buildx folder', () => {
    const user = join(root, 'home', '.docker')
    const dir = join(root, 'private')
    createPrivateConfig(user, dir, [])
    expect(readdirSync(user)).toEqual(['buildx'])
    expect(contents(dir)).toEqual({ buildx: '-> home/.docker/buildx', 'config.json': '{}' })
  })

  test('running twice over the same directory gives the same result', () => {
    const user = userDir(true)
    const dir = join(root, 'private')
    createPrivateConfig(user, dir, ['ghcr.io'])
    const first = contents(dir)
    createPrivateConfig(user, dir, ['ghcr.io'])
    expect(contents(dir)).toEqual(first)
  })
})

describe('removePrivateConfig', () => {
  test('removes the directory and its links, never what they point to', () => {
    const user = userDir(true)
    const dir = join(root, 'private')
    createPrivateConfig(user, dir, ['ghcr.io'])
    removePrivateConfig(dir)
    expect(existsSync(dir)).toBe(false)
    expect([readdirSync(user).sort(), readdirSync(join(user, 'buildx', 'instances')), readFileSync(join(user, 'config.json'), 'utf8')]).toEqual([
      ['buildx', 'cli-plugins', 'config.json', 'contexts'],
      ['mybuilder'],
      USER_CONFIG
    ])
  })

  test('a directory already gone is fine', () => {
    const dir = join(root, 'gone')
    removePrivateConfig(dir)
    expect(existsSync(dir)).toBe(false)
  })
})

test.each<[string, NodeJS.ProcessEnv, string]>([
  ['DOCKER_CONFIG set', { DOCKER_CONFIG: join('runner', 'docker-config') }, join('runner', 'docker-config')],
  ['DOCKER_CONFIG unset', {}, join(homedir(), '.docker')],
  ['DOCKER_CONFIG empty', { DOCKER_CONFIG: '' }, join(homedir(), '.docker')]
])('userDockerConfig: %s', (_name, env, expected) => {
  expect(userDockerConfig(env)).toEqual(expected)
})

describe('keepsLoginsInside', () => {
  test.each<[string, string | undefined, boolean]>([
    ['no config.json', undefined, false],
    ['unreadable config.json', '{not json', false],
    ['an empty config', '{}', true],
    ['auths only', '{"auths":{"ghcr.io":{"auth":"eDp5"}}}', true],
    ['a credential store', '{"credsStore":"desktop"}', false],
    ['an empty helper map', '{"credHelpers":{}}', true],
    ['a helper for some registry', '{"credHelpers":{"123.dkr.ecr.us-east-1.amazonaws.com":"ecr-login"}}', false]
  ])('%s', (_name, config, expected) => {
    const dir = mkdtempSync(join(tmpdir(), 'keeps-'))
    try {
      if (config !== undefined) writeFileSync(join(dir, 'config.json'), config)
      expect(keepsLoginsInside(dir)).toBe(expected)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a private config made from a user config with a credential store keeps the logins inside', () => {
    const root = mkdtempSync(join(tmpdir(), 'keeps-'))
    try {
      const user = join(root, 'user')
      mkdirSync(user)
      writeFileSync(join(user, 'config.json'), JSON.stringify({ credsStore: 'desktop', credHelpers: { 'ghcr.io': 'gh' } }))
      createPrivateConfig(user, join(root, 'private'), ['ghcr.io'])
      expect(keepsLoginsInside(join(root, 'private'))).toBe(true)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
