// The whole action against a real engine, BuildKit and registry. Every check of what was
// pushed goes through the registry HTTP API, never through docker or buildx.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { runAction, sh, type RunActionOptions, type RunResult, type StepResult } from '../../scripts/harness.js'
import { assertNoSecret, type Builders, builders, dockerConfigAuths, errorAnnotations, expectExit, fakeDocker, logTail, newDockerConfig, requireToolchain, tempDir, uniqueRepo, writeProject } from './helpers.js'
import * as registry from './registry.js'

const tc = requireToolchain()
const auth: registry.Credentials = { user: tc.user, password: tc.password }
const SHA256 = /^sha256:[0-9a-f]{64}$/
const BUILD_TIMEOUT = 20 * 60 * 1000
const ALL_DIGEST_OUTPUTS = [
  'linux/amd64',
  'linux/arm64',
  'linux/arm/v7',
  'linux/arm/v6',
  'linux/386',
  'linux/ppc64le',
  'linux/s390x',
  'linux/riscv64'
]

interface Tracked {
  dockerConfig: string
  before: { auths: string[]; builders: Builders }
  secrets: string[]
  result?: RunResult
}

let current: Tracked | undefined

interface Scenario {
  name: string
  inputs: RunActionOptions['inputs']
  eventName: string
  event: Record<string, unknown>
  ref: string
  env?: Record<string, string>
  /** Secrets besides the registry password that must not show. */
  secrets?: string[]
}

/** Runs main and post with a fresh DOCKER_CONFIG and records what afterEach compares. */
async function run(s: Scenario): Promise<RunResult> {
  const dockerConfig = newDockerConfig()
  const tracked: Tracked = {
    dockerConfig,
    before: { auths: dockerConfigAuths(dockerConfig), builders: await builders(dockerConfig) },
    // The base64 user:password form is how a leaked config.json entry would show.
    secrets: [tc.password, Buffer.from(`${tc.user}:${tc.password}`).toString('base64'), ...(s.secrets ?? [])]
  }
  current = tracked
  const work = tempDir(s.name)
  const context = writeProject(path.join(work, 'project'))
  tracked.result = await runAction({
    cwd: work,
    workDir: work,
    eventName: s.eventName,
    event: s.event,
    ref: s.ref,
    inputs: { context, ...s.inputs },
    env: { DOCKER_CONFIG: dockerConfig, ...s.env }
  })
  return tracked.result
}

function releaseOf(tag: string, prerelease: boolean): Pick<Scenario, 'eventName' | 'event' | 'ref'> {
  return {
    eventName: 'release',
    ref: `refs/tags/${tag}`,
    event: { action: 'published', release: { tag_name: tag, name: tag, prerelease, draft: false, target_commitish: 'main' } }
  }
}

function loginInputs(repo: string, password = tc.password): Record<string, string> {
  return { images: `${tc.registry}/${repo}`, registry: tc.registry, username: tc.user, password }
}

/** The references BuildKit pushed manifests for, from the build's log, sorted. */
function pushedByBuildKit(log: string): string[] {
  return [...new Set([...log.matchAll(/pushing manifest for (\S+)@sha256:/g)].map(m => m[1]!))].sort()
}

function lines(text: string | undefined): string[] {
  return (text ?? '').split('\n').map(l => l.trim()).filter(Boolean)
}

/** Everything a successful push promises, read back from the registry. */
async function expectPushed(r: RunResult, repo: string, expectedTags: string[], platforms: string[]): Promise<void> {
  const image = `${tc.registry}/${repo}`
  expect(lines(r.outputs.images)).toEqual([image])
  expect(lines(r.outputs.tags).sort()).toEqual(expectedTags.map(t => `${image}:${t}`).sort())

  const digest = r.outputs.digest
  expect(digest).toMatch(SHA256)
  expect(await registry.tags(tc.registry, repo, auth)).toEqual([...expectedTags].sort())
  for (const tag of expectedTags) {
    expect({ tag, digest: (await registry.manifest(tc.registry, repo, tag, auth)).digest }).toEqual({ tag, digest })
  }

  const index = await registry.manifest(tc.registry, repo, digest, auth)
  expect([registry.MediaType.ociIndex, registry.MediaType.dockerList]).toContain(index.mediaType)
  const images = (index.json.manifests ?? []).filter(d => !registry.isAttestation(d))

  const digests = JSON.parse(r.outputs.digests ?? 'null') as Record<string, string>
  expect(Object.keys(digests).sort()).toEqual([...platforms].sort())
  for (const [platform, manifestDigest] of Object.entries(digests)) {
    expect(manifestDigest).toMatch(SHA256)
    expect(r.outputs[`digest-${platform.replace(/\//g, '-')}`]).toBe(manifestDigest)
    const descriptor = images.find(d => d.digest === manifestDigest)
    expect({ platform, inIndex: descriptor ? registry.platformOf(descriptor) : 'missing' }).toEqual({ platform, inIndex: platform })
    expect(await registry.imageConfigPlatform(tc.registry, repo, manifestDigest, auth)).toBe(platform)
    expect(r.summary).toContain(manifestDigest)
  }
  expect(r.summary).toContain(digest)
  for (const platform of ALL_DIGEST_OUTPUTS.filter(p => !platforms.includes(p))) {
    expect(r.outputs[`digest-${platform.replace(/\//g, '-')}`] ?? '').toBe('')
  }

  const metadata = JSON.parse(r.outputs.metadata ?? 'null') as Record<string, unknown>
  expect(metadata['containerimage.digest']).toBe(digest)
}

/**
 * Builder containers carry no labels, and other work may share the daemon, so a leftover is
 * a container of a builder this run named (in its state or in a `buildx create` it logged).
 */
function leftoverContainers(t: Tracked, after: Builders): string[] {
  const r = t.result!
  const names = new Set<string>()
  if (r.state.builder) names.add(r.state.builder)
  for (const m of r.log.matchAll(/buildx create\b[^\n]*?--name[= ](\S+)/g)) names.add(m[1].replace(/^["']|["']$/g, ''))
  const added = after.containers.filter(c => !t.before.builders.containers.includes(c))
  return added.filter(c => [...names].some(n => new RegExp(`^buildx_buildkit_${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d+$`).test(c)))
}

afterEach(async () => {
  const t = current
  current = undefined
  if (!t?.result) return
  const after = await builders(t.dockerConfig)
  expect({ newBuilders: after.builders.filter(b => !t.before.builders.builders.includes(b)) }).toEqual({ newBuilders: [] })
  expect({ leftoverBuildkitContainers: leftoverContainers(t, after) }).toEqual({ leftoverBuildkitContainers: [] })
  const added = dockerConfigAuths(t.dockerConfig).filter(a => !t.before.auths.includes(a))
  expect({ credentialsLeftInDockerConfig: added }).toEqual({ credentialsLeftInDockerConfig: [] })
  // A private config the step logged in with must not keep the credentials either.
  const own = t.result.state.dockerConfig
  if (own && own !== t.dockerConfig) {
    expect({ credentialsLeftInStepDockerConfig: dockerConfigAuths(own) }).toEqual({ credentialsLeftInStepDockerConfig: [] })
  }
  assertNoSecret(t.result, ...t.secrets)
}, 60_000)

// Checks the toolchain and this suite's own tools with plain docker commands, so a failure
// of the scenarios below can be told apart from a broken registry, builder or helper.
describe('toolchain, registry client and helpers', () => {
  test(
    'registry.ts reads back a multi-platform push made with plain buildx; builders() and auths see it come and go',
    async () => {
      const dockerConfig = newDockerConfig()
      const env = { DOCKER_CONFIG: dockerConfig }
      const before = await builders(dockerConfig)
      const name = `mr-selfcheck-${randomBytes(4).toString('hex')}`
      const repo = uniqueRepo('selfcheck')
      const platforms = ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
      const work = tempDir('selfcheck')
      const context = writeProject(path.join(work, 'project'))
      const metadataFile = path.join(work, 'metadata.json')
      try {
        await sh('docker', ['login', tc.registry, '--username', tc.user, '--password-stdin'], { env, input: tc.password })
        expect(dockerConfigAuths(dockerConfig)).toEqual([tc.registry])
        await sh('docker', ['buildx', 'create', '--name', name, '--driver', 'docker-container', '--driver-opt', 'network=host', '--bootstrap'], { env })
        const during = await builders(dockerConfig)
        expect(during.builders).toEqual([...before.builders, name].sort())
        expect(during.containers).toContain(`buildx_buildkit_${name}0`)

        await sh(
          'docker',
          ['buildx', 'build', '--builder', name, '--platform', platforms.join(','), '--tag', `${tc.registry}/${repo}:a`,
            '--tag', `${tc.registry}/${repo}:b`, '--metadata-file', metadataFile, '--push', context],
          { env }
        )
        const digest = (JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, string>)['containerimage.digest']
        expect(digest).toMatch(SHA256)

        expect(await registry.tags(tc.registry, repo, auth)).toEqual(['a', 'b'])
        const index = await registry.manifest(tc.registry, repo, 'a', auth)
        expect(index.digest).toBe(digest)
        expect(index.mediaType).toBe(registry.MediaType.ociIndex)
        expect((await registry.manifest(tc.registry, repo, digest, auth)).raw).toBe(index.raw)
        const images = (index.json.manifests ?? []).filter(d => !registry.isAttestation(d))
        expect(images.map(registry.platformOf).sort()).toEqual([...platforms].sort())
        expect((index.json.manifests ?? []).length).toBeGreaterThan(images.length)
        for (const d of images) {
          expect(await registry.imageConfigPlatform(tc.registry, repo, d.digest, auth)).toBe(registry.platformOf(d))
        }
        expect(await registry.exists(tc.registry, repo, 'b', auth)).toBe(true)
        expect(await registry.exists(tc.registry, repo, digest, auth)).toBe(true)
        expect(await registry.exists(tc.registry, repo, 'latest', auth)).toBe(false)
        expect(await registry.tags(tc.registry, uniqueRepo('never-pushed'), auth)).toEqual([])
        await expect(registry.tags(tc.registry, repo)).rejects.toThrow(/401/)
        await expect(registry.tags(tc.registry, repo, { user: tc.user, password: 'wrong' })).rejects.toThrow(/401/)
      } finally {
        await sh('docker', ['buildx', 'rm', name], { env, allowFailure: true })
        await sh('docker', ['logout', tc.registry], { env, allowFailure: true })
      }
      const after = await builders(dockerConfig)
      expect(after.builders).toEqual(before.builders)
      expect(after.containers).not.toContain(`buildx_buildkit_${name}0`)
      expect(dockerConfigAuths(dockerConfig)).toEqual([])
    },
    BUILD_TIMEOUT
  )

  test('fakeDocker records every call and fails it', async () => {
    const fake = fakeDocker(tempDir('fake-docker'))
    const env = { PATH: [fake.binDir, process.env.PATH].filter(Boolean).join(path.delimiter) }
    const r = await sh('docker', ['buildx', 'version'], { env, allowFailure: true })
    expect(r.exitCode).toBe(1)
    await sh('docker', ['login', 'x', '--password-stdin'], { env, allowFailure: true, input: 'p' })
    expect(fake.calls()).toEqual([['buildx', 'version'], ['login', 'x', '--password-stdin']])
  })

  test('assertNoSecret allows the add-mask command and finds the secret anywhere else', () => {
    const dir = tempDir('secret')
    const file = (n: string, text: string): string => {
      writeFileSync(path.join(dir, n), text)
      return path.join(dir, n)
    }
    const step = (stdout: string): StepResult => ({ exitCode: 0, signal: null, stdout, stderr: '', timedOut: false, killed: false, durationMs: 1 })
    const result = (stdout: string, summary: string): RunResult => ({
      main: step(stdout),
      post: step('post\n'),
      outputs: {},
      state: {},
      summary,
      masks: [],
      env: {},
      workDir: dir,
      files: { output: file('o', ''), state: file('s', ''), summary: file('m', summary), event: '', env: '', path: '', post: undefined },
      log: stdout
    })
    expect(() => assertNoSecret(result('::add-mask::hunter2\nok\n', ''), 'hunter2')).not.toThrow()
    expect(() => assertNoSecret(result('login with hunter2\n', ''), 'hunter2')).toThrow(/main stdout line 1/)
    expect(() => assertNoSecret(result('', 'x hunter2'), 'other', 'hunter2')).toThrow(/secret #2 in summary file/)
  })
})

describe('multiarch-release end to end', () => {
  test(
    'release v1.2.3 pushes 1.2.3, 1.2, 1 and latest for three platforms',
    async () => {
      const repo = uniqueRepo('release')
      const platforms = ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
      // The real CLI behind a wrapper that logs each call's arguments.
      const real = (await sh('sh', ['-c', 'command -v docker'])).stdout.trim()
      const bin = path.join(tempDir('release-calls'), 'bin')
      mkdirSync(bin)
      const calls = path.join(bin, '..', 'calls.txt')
      writeFileSync(path.join(bin, 'docker'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${calls}'\nexec ${real} "$@"\n`, { mode: 0o755 })
      const r = await run({
        name: 'release',
        ...releaseOf('v1.2.3', false),
        inputs: { ...loginInputs(repo), platforms: platforms.join(',') },
        env: { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(r.outputs.version).toBe('1.2.3')
      await expectPushed(r, repo, ['1.2.3', '1.2', '1', 'latest'], platforms)
      // The index was read, and the tags written, over the registry API with the login's credentials.
      expect(r.log).not.toContain('the index is read with imagetools')
      expect(r.log).not.toContain('the tags are added with imagetools')
      // A three-platform release with login and a fresh builder: six docker calls in all, one of
      // them the preflight's look at the base image's platforms. Nothing reads or tags what was
      // pushed through docker: the registry API does.
      const logged = readFileSync(calls, 'utf8').trim().split('\n')
      expect(logged.map(line => line.split(' ').slice(0, 2).join(' ')).sort()).toEqual(
        ['login --username', 'buildx version', 'buildx create', 'buildx imagetools', 'buildx build', 'buildx rm'].sort()
      )
      expect(logged.find(line => line.startsWith('buildx imagetools'))).toMatch(new RegExp(`^buildx imagetools inspect .*${tc.baseImage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`))
      expect(logged).toContain(`buildx rm --force ${r.state.builder}`)
      // BuildKit pushed the image once, under its first tag; the others are one index write each.
      const image = `${tc.registry}/${repo}`
      expect(pushedByBuildKit(r.log)).toEqual([`${image}:1.2.3`])
      expect(r.log).toMatch(new RegExp(`::group::Tag\n${['1.2', '1', 'latest'].map(t => `${image}:${t}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\n')}\n`))
    },
    BUILD_TIMEOUT
  )

  test(
    'release v1.2.3 to two registries: each gets every tag, on the same index',
    async () => {
      const repo = uniqueRepo('release-two')
      const platforms = ['linux/amd64', 'linux/arm64']
      const first = `${tc.registry}/${repo}`
      const second = `${tc.registryNoAuth}/${repo}`
      const r = await run({
        name: 'release-two',
        ...releaseOf('v1.2.3', false),
        inputs: { ...loginInputs(repo), images: `${first}\n${second}`, platforms: platforms.join(',') }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const tags = ['1.2.3', '1.2', '1', 'latest']
      expect(lines(r.outputs.tags).sort()).toEqual([first, second].flatMap(image => tags.map(t => `${image}:${t}`)).sort())
      // The build pushed the version tag of each image; the Tag phase added the rest to both,
      // each over its registry's API.
      expect(r.log).not.toContain('the tags are added with imagetools')
      expect(pushedByBuildKit(r.log)).toEqual([`${first}:1.2.3`, `${second}:1.2.3`].sort())
      const digest = r.outputs.digest
      expect(digest).toMatch(SHA256)
      expect(await registry.tags(tc.registry, repo, auth)).toEqual([...tags].sort())
      expect(await registry.tags(tc.registryNoAuth, repo)).toEqual([...tags].sort())
      for (const tag of tags) {
        expect({ tag, first: (await registry.manifest(tc.registry, repo, tag, auth)).digest }).toEqual({ tag, first: digest })
        expect({ tag, second: (await registry.manifest(tc.registryNoAuth, repo, tag)).digest }).toEqual({ tag, second: digest })
      }
    },
    BUILD_TIMEOUT
  )

  test(
    'a prerelease v2.0.0-rc.1 pushes only 2.0.0-rc.1, no latest',
    async () => {
      const repo = uniqueRepo('prerelease')
      const platforms = ['linux/amd64', 'linux/arm64']
      const r = await run({
        name: 'prerelease',
        ...releaseOf('v2.0.0-rc.1', true),
        inputs: { ...loginInputs(repo), platforms: platforms.join(',') }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(r.outputs.version).toBe('2.0.0-rc.1')
      await expectPushed(r, repo, ['2.0.0-rc.1'], platforms)
      expect(await registry.exists(tc.registry, repo, 'latest', auth)).toBe(false)
    },
    BUILD_TIMEOUT
  )

  test(
    'workflow_dispatch with version 1.5.0 on main pushes 1.5.0, 1.5, 1 and latest',
    async () => {
      const repo = uniqueRepo('dispatch')
      const platforms = ['linux/amd64', 'linux/arm/v7']
      const r = await run({
        name: 'dispatch',
        eventName: 'workflow_dispatch',
        ref: 'refs/heads/main',
        event: { inputs: { version: '1.5.0' }, ref: 'refs/heads/main', workflow: '.github/workflows/release.yml' },
        inputs: { ...loginInputs(repo), platforms: platforms.join(','), version: '1.5.0' }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(r.outputs.version).toBe('1.5.0')
      await expectPushed(r, repo, ['1.5.0', '1.5', '1', 'latest'], platforms)
    },
    BUILD_TIMEOUT
  )

  test(
    'a wrong password fails the login, pushes nothing, and post still succeeds',
    async () => {
      const repo = uniqueRepo('badlogin')
      const wrong = `wrong-${randomBytes(6).toString('hex')}`
      const r = await run({
        name: 'badlogin',
        ...releaseOf('v1.2.3', false),
        inputs: { ...loginInputs(repo, wrong), platforms: 'linux/amd64,linux/arm64' },
        secrets: [wrong]
      })
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const errors = errorAnnotations(r)
      const loginError = errors.find(e => e.includes(tc.registry) && /login/i.test(e) && /unauthorized/i.test(e))
      if (!loginError) throw new Error(`no error annotation says the login to ${tc.registry} was unauthorized:\n${errors.join('\n')}\n--- log tail ---\n${logTail(r)}`)
      expect(r.outputs.digest ?? '').toBe('')
      expect(await registry.tags(tc.registry, repo, auth)).toEqual([])
      expect(await registry.exists(tc.registry, repo, 'latest', auth)).toBe(false)
    },
    BUILD_TIMEOUT
  )

  test(
    'an unknown platform fails on the platforms input before any docker call',
    async () => {
      const repo = uniqueRepo('badplatform')
      const fake = fakeDocker(tempDir('fake-docker'))
      const r = await run({
        name: 'badplatform',
        ...releaseOf('v1.2.3', false),
        inputs: { ...loginInputs(repo), platforms: 'linux/amd64,linux/arm65' },
        env: { PATH: [fake.binDir, process.env.PATH].filter(Boolean).join(path.delimiter) }
      })
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const errors = errorAnnotations(r)
      expect(errors.some(e => e.includes('platforms') && e.includes('linux/arm65'))).toBe(true)
      expect(fake.calls()).toEqual([])
      expect(await registry.tags(tc.registry, repo, auth)).toEqual([])
    },
    BUILD_TIMEOUT
  )
})

const AARCH64_HANDLER = '/proc/sys/fs/binfmt_misc/qemu-aarch64'
const BINFMT_IMAGE = 'tonistiigi/binfmt:latest'

/** Unregistering a kernel handler needs root, binfmt_misc, and a host that emulates aarch64 rather than runs it. */
function canToggleAarch64(): boolean {
  return process.getuid?.() === 0 && process.arch === 'x64' && existsSync('/proc/sys/fs/binfmt_misc/register')
}

/**
 * Architectures named on the log lines about installing, whatever their wording
 * (`--install arm64`, `installing emulators: arm64`); BuildKit progress lines are left out.
 */
function installedEmulators(log: string): Set<string> {
  const alias: Record<string, string> = { aarch64: 'arm64', i386: '386', armhf: 'arm', armel: 'arm' }
  const found = new Set<string>()
  for (const line of log.split('\n')) {
    if (!/install/i.test(line) || line.startsWith('#')) continue
    for (const m of line.matchAll(/\b(amd64|arm64|aarch64|armhf|armel|arm|riscv64|ppc64le|s390x|i386|386|mips64le|mips64|loong64)\b/g)) {
      found.add(alias[m[1]] ?? m[1])
    }
  }
  return found
}

async function restoreAarch64(): Promise<void> {
  if (!existsSync(AARCH64_HANDLER)) {
    await sh('docker', ['run', '--rm', '--privileged', BINFMT_IMAGE, '--install', 'arm64'])
  }
}

describe('QEMU install', () => {
  // Kernel state is shared by the whole machine: put the handler back whatever happens.
  afterAll(async () => {
    if (canToggleAarch64()) await restoreAarch64()
  }, 120_000)

  const qemuTest = canToggleAarch64() ? test : test.skip
  qemuTest(
    'qemu: auto installs the missing arm64 emulator, and only that one',
    async () => {
      if (existsSync(AARCH64_HANDLER)) writeFileSync(AARCH64_HANDLER, '-1')
      expect(existsSync(AARCH64_HANDLER)).toBe(false)
      try {
        const repo = uniqueRepo('qemu')
        const platforms = ['linux/amd64', 'linux/arm64']
        const r = await run({
          name: 'qemu',
          ...releaseOf('v3.0.0', false),
          inputs: { ...loginInputs(repo), platforms: platforms.join(','), qemu: 'auto' }
        })
        expectExit(r.main, 0, r, 'main')
        expectExit(r.post, 0, r, 'post')
        expect(existsSync(AARCH64_HANDLER)).toBe(true)
        const installed = installedEmulators(r.log)
        if (installed.size === 0) throw new Error(`the log shows no emulator install:\n${logTail(r)}`)
        expect([...installed]).toEqual(['arm64'])
        await expectPushed(r, repo, ['3.0.0', '3.0', '3', 'latest'], platforms)
      } finally {
        await restoreAarch64()
      }
    },
    BUILD_TIMEOUT
  )
})
