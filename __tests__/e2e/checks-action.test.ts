// Each check of the action end to end through dist/index.js, as the runner runs it: preflight of
// base images and compose images, hard-coded architectures, emulation planning for a
// cross-compiling Dockerfile, the ELF scan, smoke tests and latest: auto against the REST API
// stand-in. What was pushed is read back through the registry HTTP API; emulator state straight
// from binfmt_misc.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { runAction, sh, type RunActionOptions, type RunResult } from '../../scripts/harness.js'
import { annotations, assertNoSecret, type Builders, builders, dockerConfigAuths, expectExit, logTail, newDockerConfig, requireToolchain, tempDir, uniqueRepo } from './helpers.js'
import * as registry from './registry.js'

const tc = requireToolchain()
const auth: registry.Credentials = { user: tc.user, password: tc.password }
const TIMEOUT = 5 * 60 * 1000
const SHA256 = /^sha256:[0-9a-f]{64}$/
const TWO = ['linux/amd64', 'linux/arm64']
const THREE = ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
const BINFMT = '/proc/sys/fs/binfmt_misc'
const BINFMT_IMAGE = 'tonistiigi/binfmt:latest'

/** host/repo of the base image without its tag, for name@digest references. */
const baseName = tc.baseImage.replace(/:[^/:]+$/, '')
/** The base image's linux/amd64 manifest alone, pushed under a tag of its own in beforeAll. */
let amd64Only: string
/** Images the smoke tests pulled into the engine; removed at the end. */
const pulled: string[] = []

// ---------------------------------------------------------------------------------------------
// Running the action

interface Tracked {
  dockerConfig: string
  before: Builders
  result?: RunResult
}

let current: Tracked | undefined

interface Scenario {
  name: string
  /** The Dockerfile, one element per line: line numbers in assertions are index + 1. */
  dockerfile: string[]
  /** More files in the checkout, by path relative to it. */
  files?: Record<string, string>
  inputs?: RunActionOptions['inputs']
  /** The release being published (default v1.0.0). */
  tag?: string
  /** What the REST API stand-in lists as the repository's releases. */
  releases?: Array<Record<string, unknown>>
}

interface Run {
  result: RunResult
  repo: string
  image: string
}

/**
 * One release event through main and post with a fresh DOCKER_CONFIG, the Dockerfile at the
 * root of the checkout (so annotations name `Dockerfile`), pushed with a login to the
 * htpasswd registry, so the password has a chance to leak.
 */
async function release(s: Scenario): Promise<Run> {
  const dockerConfig = newDockerConfig()
  const tracked: Tracked = { dockerConfig, before: await builders(dockerConfig) }
  current = tracked
  const work = tempDir(s.name)
  const checkout = path.join(work, 'checkout')
  mkdirSync(checkout, { recursive: true })
  writeFileSync(path.join(checkout, 'Dockerfile'), `${s.dockerfile.join('\n')}\n`)
  for (const [file, text] of Object.entries(s.files ?? {})) writeFileSync(path.join(checkout, file), text)
  const repo = uniqueRepo(s.name)
  const image = `${tc.registry}/${repo}`
  const tag = s.tag ?? 'v1.0.0'
  tracked.result = await runAction({
    cwd: checkout,
    workDir: work,
    eventName: 'release',
    ref: `refs/tags/${tag}`,
    event: { action: 'published', release: { tag_name: tag, name: tag, prerelease: false, draft: false, target_commitish: 'main' } },
    releases: s.releases,
    inputs: {
      images: image,
      registry: tc.registry,
      username: tc.user,
      password: tc.password,
      platforms: TWO.join(','),
      ...s.inputs
    },
    env: { DOCKER_CONFIG: dockerConfig }
  })
  return { result: tracked.result, repo, image }
}

/** A published stable release as the REST API lists it. */
function published(tag: string): Record<string, unknown> {
  return { tag_name: tag, name: tag, draft: false, prerelease: false }
}

/**
 * A builder container this run named (in its state or a logged `buildx create`) that is still
 * there; other work may share the daemon, so only these count.
 */
function leftoverContainers(t: Tracked, after: Builders): string[] {
  const r = t.result!
  const names = new Set<string>()
  if (r.state.builder) names.add(r.state.builder)
  for (const m of r.log.matchAll(/created builder (\S+)/g)) names.add(m[1])
  const added = after.containers.filter(c => !t.before.containers.includes(c))
  return added.filter(c => [...names].some(n => c === `buildx_buildkit_${n}0`))
}

afterEach(async () => {
  const t = current
  current = undefined
  if (!t?.result) return
  const after = await builders(t.dockerConfig)
  expect({ newBuilders: after.builders.filter(b => !t.before.builders.includes(b)) }).toEqual({ newBuilders: [] })
  expect({ leftoverBuildkitContainers: leftoverContainers(t, after) }).toEqual({ leftoverBuildkitContainers: [] })
  expect({ credentialsLeftInDockerConfig: dockerConfigAuths(t.dockerConfig) }).toEqual({ credentialsLeftInDockerConfig: [] })
  const own = t.result.state.dockerConfig
  if (own && own !== t.dockerConfig) expect({ stepDockerConfigLeft: existsSync(own) && dockerConfigAuths(own).length > 0 }).toEqual({ stepDockerConfigLeft: false })
  assertNoSecret(t.result, tc.password, Buffer.from(`${tc.user}:${tc.password}`).toString('base64'))
}, 60_000)

// ---------------------------------------------------------------------------------------------
// Reading the log

/** The single error the step failed with. */
function failure(r: RunResult): string {
  const errors = annotations(r, 'error')
  if (errors.length !== 1) throw new Error(`expected one ::error annotation, got ${errors.length}\n--- log tail ---\n${logTail(r)}`)
  return errors[0].message
}

function logLines(r: RunResult): string[] {
  return r.log.split('\n').map(l => l.replace(/\r$/, ''))
}

/** Whether the build step ran at all: the action logs the buildx build command line it runs. */
function ranBuild(r: RunResult): boolean {
  return logLines(r).some(l => /^\[command\]\S*docker buildx build /.test(l) || /^::group::Build( and push)?$/.test(l))
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

// ---------------------------------------------------------------------------------------------
// Reading the registry

/** The digest outputs name exactly these platforms, and each manifest's config says its platform. */
async function expectPlatformDigests(r: RunResult, repo: string, platforms: string[]): Promise<Record<string, string>> {
  const digests = JSON.parse(r.outputs.digests ?? 'null') as Record<string, string>
  expect(Object.keys(digests ?? {}).sort()).toEqual([...platforms].sort())
  for (const [platform, digest] of Object.entries(digests)) {
    expect(digest).toMatch(SHA256)
    expect(r.outputs[`digest-${platform.replace(/\//g, '-')}`]).toBe(digest)
    expect({ platform, config: await registry.imageConfigPlatform(tc.registry, repo, digest, auth) }).toEqual({ platform, config: platform })
  }
  return digests
}

/** One regular file of a tar archive; BuildKit writes short names in the ustar name field. */
function tarFile(tar: Buffer, wanted: string): Buffer | undefined {
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512)
    if (header.every(b => b === 0)) return undefined
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '').replace(/^\.?\//, '')
    const size = parseInt(header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8)
    const body = off + 512
    if (name === wanted && (header[156] === 0x30 || header[156] === 0)) return tar.subarray(body, body + size)
    off = body + Math.ceil(size / 512) * 512
  }
  return undefined
}

/** A file as one platform's image holds it: the topmost layer that has it, read from the registry. */
async function fileInImage(repo: string, manifestDigest: string, file: string): Promise<string | undefined> {
  const m = await registry.manifest(tc.registry, repo, manifestDigest, auth)
  const authorization = `Basic ${Buffer.from(`${tc.user}:${tc.password}`).toString('base64')}`
  for (const layer of [...(m.json.layers ?? [])].reverse()) {
    const res = await fetch(`http://${tc.registry}/v2/${repo}/blobs/${layer.digest}`, { headers: { Authorization: authorization } })
    expect(res.status).toBe(200)
    const blob = Buffer.from(await res.arrayBuffer())
    const tar = layer.mediaType.endsWith('gzip') ? gunzipSync(blob) : blob
    const found = tarFile(tar, file.replace(/^\//, ''))
    if (found) return found.toString('utf8')
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Emulators

interface Handler {
  enabled: boolean
  flags: string
}

function handler(name: string): Handler | undefined {
  const file = path.join(BINFMT, name)
  if (!existsSync(file)) return undefined
  const text = readFileSync(file, 'utf8')
  return { enabled: /^enabled$/m.test(text), flags: /^flags:\s*(\S*)/m.exec(text)?.[1] ?? '' }
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  // The amd64 manifest of the base image, alone under a new tag: an image published for one platform.
  const host = tc.registryNoAuth || tc.registry
  const dockerConfig = newDockerConfig()
  const env = { DOCKER_CONFIG: dockerConfig }
  if (!tc.registryNoAuth) await sh('docker', ['login', tc.registry, '--username', tc.user, '--password-stdin'], { env, input: tc.password })
  const index = JSON.parse((await sh('docker', ['buildx', 'imagetools', 'inspect', '--raw', tc.baseImage], { env })).stdout) as registry.ManifestJson
  const amd64 = (index.manifests ?? []).find(d => registry.platformOf(d) === 'linux/amd64')
  expect(amd64?.digest).toMatch(SHA256)
  const repo = uniqueRepo('amd64-only')
  amd64Only = `${host}/${repo}:amd64only`
  await sh('docker', ['buildx', 'imagetools', 'create', '-t', amd64Only, `${baseName}@${amd64!.digest}`], { env })
  await sh('docker', ['logout', tc.registry], { env, allowFailure: true })
  const pushed = await registry.manifest(host, repo, 'amd64only', auth)
  expect((pushed.json.manifests ?? []).map(registry.platformOf)).toEqual(['linux/amd64'])
}, TIMEOUT)

afterAll(async () => {
  for (const ref of pulled) await sh('docker', ['image', 'rm', '--force', ref], { allowFailure: true })
}, TIMEOUT)

describe('preflight of the Dockerfile base images', () => {
  const dockerfile = (): string[] => ['# an application on an image published for amd64 only', 'ARG GREETING=hello', `FROM ${amd64Only} AS runtime`, 'RUN echo "$GREETING" > /greeting']
  const FROM_LINE = 3

  test(
    'an amd64-only base image fails the step before the build, naming the image, linux/arm64 and Dockerfile:3',
    async () => {
      const { result: r, repo } = await release({ name: 'preflight-fail', dockerfile: dockerfile() })
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const message = failure(r)
      expect(message).toMatch(/^Preflight found images without a requested platform; nothing was built or pushed \(set preflight: warn to build anyway\):\n/)
      const gap = message.split('\n').slice(1)
      expect(gap).toHaveLength(1)
      expect(gap[0]).toMatch(new RegExp(`^Dockerfile:${FROM_LINE}: ${escapeRe(amd64Only)} has no linux/arm64 image \\(it has linux/amd64\\)`))
      expect(ranBuild(r)).toBe(false)
      expect(await registry.tags(tc.registry, repo, auth)).toEqual([])
      expect(r.outputs.digest ?? '').toBe('')
      // The summary of the failed step carries the table.
      expect(r.summary).toContain('## Multiarch release: preflight failed')
      expect(r.summary).toContain(
        [
          '| base image | platforms it has | missing | Dockerfile line |',
          '| --- | --- | --- | --- |',
          `| \`${amd64Only}\` | linux/amd64 | **linux/arm64** | ${FROM_LINE} |`
        ].join('\n')
      )
    },
    TIMEOUT
  )

  test(
    'with preflight: warn the gap is a warning on Dockerfile:3 and the release goes on, to fail in BuildKit',
    async () => {
      const { result: r, repo } = await release({ name: 'preflight-warn', dockerfile: dockerfile(), inputs: { preflight: 'warn' } })
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const warnings = annotations(r, 'warning').filter(w => w.properties.title === 'base image platforms')
      expect(warnings.map(w => [w.properties.file, w.properties.line])).toEqual([['Dockerfile', String(FROM_LINE)]])
      expect(warnings[0].message).toMatch(new RegExp(`^${escapeRe(amd64Only)} has no linux/arm64 image \\(it has linux/amd64\\)`))
      // The build ran and BuildKit found no arm64 manifest to pull.
      expect(ranBuild(r)).toBe(true)
      const message = failure(r)
      expect(message).not.toContain('Preflight found')
      expect(message).toMatch(/`docker buildx build [^`]*` failed with exit code 1:/)
      expect(message).toContain(`failed to resolve source metadata for ${amd64Only}: no match for platform in manifest`)
      // The image exists; it lacks a platform. Calling it missing sends the user to the wrong fix.
      expect(message).not.toMatch(/was not found|name or tag is wrong/)
      expect(await registry.tags(tc.registry, repo, auth)).toEqual([])
      expect(r.summary).not.toContain('preflight failed')
    },
    TIMEOUT
  )
})

describe('hard-coded architecture', () => {
  test(
    'a RUN naming amd64 in a URL warns on its line and the two-platform build still succeeds',
    async () => {
      const { result: r, repo } = await release({
        name: 'hardcoded-arch',
        dockerfile: [
          `FROM ${tc.baseImage}`,
          'ARG TARGETARCH',
          'RUN echo https://example.invalid/tool_linux_amd64.tar.gz > /url',
          'RUN echo https://example.invalid/tool_linux_${TARGETARCH}.tar.gz > /url-right'
        ]
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const warnings = annotations(r, 'warning').filter(w => w.properties.title === 'hard-coded architecture')
      // Only line 3: the ${TARGETARCH} spelling on line 4 is how it is done right.
      expect(warnings.map(w => [w.properties.file, w.properties.line])).toEqual([['Dockerfile', '3']])
      expect(warnings[0].message).toContain('"amd64" in https://example.invalid/tool_linux_amd64.tar.gz')
      expect(warnings[0].message).toContain('linux/arm64 would get the amd64 file')
      expect(warnings[0].message).toContain('ARG TARGETARCH')
      expect(warnings[0].message).toContain('${TARGETARCH}')
      await expectPlatformDigests(r, repo, TWO)
      expect(await registry.tags(tc.registry, repo, auth)).toEqual(['1', '1.0', '1.0.0', 'latest'])
    },
    TIMEOUT
  )
})

describe('emulation planning', () => {
  const HANDLERS = ['qemu-aarch64', 'qemu-arm']

  // The kernel's handlers are shared by the whole machine: whatever happens, they come back.
  afterAll(async () => {
    if (HANDLERS.some(h => !handler(h))) await sh('docker', ['run', '--rm', '--privileged', BINFMT_IMAGE, '--install', 'arm64,arm'])
  }, 120_000)

  test(
    'a cross-compiling Dockerfile builds arm64 and arm/v7 with qemu: auto and no emulator registered, installing none',
    async () => {
      // The installer under a name of this test only, so the engine's events tell whether this run started it.
      const qemuImage = `e2e-binfmt-${randomBytes(4).toString('hex')}:latest`
      await sh('docker', ['tag', BINFMT_IMAGE, qemuImage])
      for (const h of HANDLERS) if (handler(h)) writeFileSync(path.join(BINFMT, h), '-1')
      expect(HANDLERS.filter(h => handler(h))).toEqual([])
      const since = Math.floor(Date.now() / 1000) - 1
      let run: Run | undefined
      let registeredDuringRun: string[] | undefined
      let started: string[] | undefined
      try {
        run = await release({
          name: 'cross-compile',
          dockerfile: [
            `FROM --platform=$BUILDPLATFORM ${tc.baseImage} AS build`,
            'ARG TARGETARCH',
            'RUN echo "$TARGETARCH built on $(uname -m)" > /arch.txt',
            `FROM ${tc.baseImage}`,
            'COPY --from=build /arch.txt /arch.txt'
          ],
          inputs: { platforms: THREE.join(','), qemu: 'auto', 'qemu-image': qemuImage }
        })
        registeredDuringRun = HANDLERS.filter(h => handler(h))
      } finally {
        await sh('docker', ['run', '--rm', '--privileged', BINFMT_IMAGE, '--install', 'arm64,arm'])
        const until = String(Math.floor(Date.now() / 1000) + 1)
        const events = await sh('docker', ['events', '--since', String(since), '--until', until, '--filter', 'type=container', '--filter', 'event=start', '--format', '{{index .Actor.Attributes "image"}}'])
        started = events.stdout.split('\n').filter(Boolean)
        await sh('docker', ['image', 'rm', qemuImage], { allowFailure: true })
      }
      // Nothing was installed: the handlers stayed gone, and this run's installer never started.
      const installerStarts = started!.filter(image => image === qemuImage).length
      if (registeredDuringRun!.length > 0 || installerStarts > 0) {
        throw new Error(
          `registered during the run: ${registeredDuringRun!.join(', ') || 'none'}; this run's installer started ${installerStarts} times; ` +
            `containers the engine started meanwhile (the binfmt_misc handlers are machine-wide): ${started!.join(', ')}\n--- log tail ---\n${logTail(run!.result)}`
        )
      }
      for (const h of HANDLERS) expect({ h, enabled: handler(h)?.enabled, fixBinary: handler(h)?.flags.includes('F') }).toEqual({ h, enabled: true, fixBinary: true })

      const { result: r, repo } = run!
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const lines = logLines(r)
      expect(lines.some(l => /^No RUN step executes on a platform other than the host's \(linux\/[^)]+\): no emulator is needed to build\.$/.test(l))).toBe(true)
      expect(lines).toContain('no emulator to install')
      expect(lines.filter(l => /installing emulators|--install/.test(l))).toEqual([])
      const digests = await expectPlatformDigests(r, repo, THREE)
      // TARGETARCH reached the build stage once per platform, which ran on the host each time.
      const hostArch = (await sh('uname', ['-m'])).stdout.trim()
      const built: Record<string, string | undefined> = {}
      for (const [platform, digest] of Object.entries(digests)) built[platform] = (await fileInImage(repo, digest, '/arch.txt'))?.trim()
      expect(built).toEqual({
        'linux/amd64': `amd64 built on ${hostArch}`,
        'linux/arm64': `arm64 built on ${hostArch}`,
        'linux/arm/v7': `arm built on ${hostArch}`
      })
    },
    TIMEOUT
  )
})

describe('ELF verify', () => {
  // Every platform's image gets the amd64 busybox at /bad: right for linux/amd64, wrong for linux/arm64.
  const dockerfile = (): string[] => [`FROM --platform=linux/amd64 ${tc.baseImage} AS x86`, `FROM ${tc.baseImage}`, 'COPY --from=x86 /bin/busybox /bad']

  test(
    'verify: strict fails on the x86-64 /bad in the linux/arm64 image',
    async () => {
      const { result: r, repo } = await release({ name: 'verify-strict', dockerfile: dockerfile(), inputs: { verify: 'strict' } })
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      // The check ran while the image was untagged: no tag points at the bad image.
      expect(await registry.tags(tc.registry, repo, auth)).toEqual([])
      const message = failure(r)
      const [head, ...found] = message.split('\n')
      expect(head).toBe('Binaries of another architecture (they fail with "exec format error"):')
      expect(found).toHaveLength(1)
      expect(found[0]).toMatch(/^linux\/arm64: \/bad is ELF 64-bit LSB x86-64 \(layer sha256:[0-9a-f]{64}\)$/)
      // The layer named is the COPY layer of the arm64 manifest the Digests phase logged.
      const arm64 = logLines(r)
        .map(l => /^linux\/arm64 {2}(sha256:[0-9a-f]{64})$/.exec(l)?.[1])
        .filter(Boolean)
      expect(arm64).toHaveLength(1)
      const layers = (await registry.manifest(tc.registry, repo, arm64[0]!, auth)).json.layers ?? []
      expect(found[0]).toContain(`(layer ${layers.at(-1)!.digest})`)
      // Both platforms were scanned.
      expect(logLines(r).filter(l => /^linux\/(amd64|arm64): \d+ ELF binaries among/.test(l)).map(l => l.split(':')[0])).toEqual(TWO)
    },
    TIMEOUT
  )

  test(
    'verify: true passes the same release with a warning naming /bad',
    async () => {
      const { result: r, repo } = await release({ name: 'verify-warn', dockerfile: dockerfile(), inputs: { verify: 'true' } })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const warnings = annotations(r, 'warning').filter(w => w.properties.title === 'verify')
      expect(warnings).toHaveLength(1)
      expect(warnings[0].message.split('\n').slice(1)).toEqual([expect.stringMatching(/^linux\/arm64: \/bad is ELF 64-bit LSB x86-64 \(layer sha256:[0-9a-f]{64}\)$/)])
      await expectPlatformDigests(r, repo, TWO)
    },
    TIMEOUT
  )
})

describe('smoke test', () => {
  // A RUN step, so the arm64 image is really built under emulation.
  const dockerfile = (): string[] => [`FROM ${tc.baseImage}`, 'RUN uname -m > /arch']

  function remember(r: RunResult, image: string): void {
    for (const digest of Object.values(JSON.parse(r.outputs.digests || '{}') as Record<string, string>)) pulled.push(`${image}@${digest}`)
    for (const m of r.log.matchAll(/--pull never (?:--entrypoint \S+ )?(\S+@sha256:[0-9a-f]{64})/g)) pulled.push(m[1])
  }

  async function smokeContainers(): Promise<string[]> {
    const ps = await sh('docker', ['ps', '--all', '--filter', 'name=multiarch-smoke-', '--format', '{{.Names}}'])
    return ps.stdout.split('\n').filter(Boolean)
  }

  test(
    'a command that outlives smoke-test-timeout fails the step, saying it timed out on each platform',
    async () => {
      const before = await smokeContainers()
      const { result: r, image } = await release({ name: 'smoke-timeout', dockerfile: dockerfile(), inputs: { 'smoke-test': 'sleep 30', 'smoke-test-timeout': 3 } })
      remember(r, image)
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const [head, ...failures] = failure(r).split('\n')
      expect(head).toBe('Smoke test failed:')
      expect(failures).toEqual(
        TWO.map(p => expect.stringMatching(new RegExp(`^Smoke test on ${escapeRe(p)} timed out: \`sleep 30\` was still running after 3s and its container was removed`)))
      )
      // Two sleeps of 30 s were cut short, not waited out.
      expect(r.main.durationMs).toBeLessThan(45_000)
      expect((await smokeContainers()).filter(c => !before.includes(c))).toEqual([])
    },
    TIMEOUT
  )

  test(
    'a failing command fails the step with its exit code and the tail of its output',
    async () => {
      const { result: r, repo, image } = await release({ name: 'smoke-fail', dockerfile: dockerfile(), inputs: { 'smoke-test': 'cat /etc/hostname-does-not-exist' } })
      remember(r, image)
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(await registry.tags(tc.registry, repo, auth)).toEqual([])
      const [head, ...failures] = failure(r).split('\n')
      expect(head).toBe('Smoke test failed:')
      expect(failures.join('\n')).toBe(
        TWO.map(
          p =>
            `Smoke test on ${p} failed: \`cat /etc/hostname-does-not-exist\` exited with 1. Last output:\n` +
            "cat: can't open '/etc/hostname-does-not-exist': No such file or directory"
        ).join('\n')
      )
    },
    TIMEOUT
  )

  test(
    'a passing command passes on each platform, the arm64 image running as aarch64 under emulation',
    async () => {
      const { result: r, repo, image } = await release({ name: 'smoke-pass', dockerfile: dockerfile(), inputs: { 'smoke-test': 'uname -m' } })
      remember(r, image)
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const lines = logLines(r).filter(l => l.trim() !== '')
      // Each platform's verdict follows the output of its own container.
      const outputBefore = (platform: string): string | undefined => {
        const at = lines.findIndex(l => new RegExp(`^${escapeRe(platform)}: passed in \\d+\\.\\ds$`).test(l))
        return at > 0 ? lines[at - 1] : undefined
      }
      expect({ amd64: outputBefore('linux/amd64'), arm64: outputBefore('linux/arm64') }).toEqual({ amd64: 'x86_64', arm64: 'aarch64' })
      await expectPlatformDigests(r, repo, TWO)
      // The tags came after the passing smoke test, all on the checked index.
      for (const tag of ['1.0.0', '1.0', '1', 'latest']) {
        expect({ tag, digest: (await registry.manifest(tc.registry, repo, tag, auth)).digest }).toEqual({ tag, digest: r.outputs.digest })
      }
    },
    TIMEOUT
  )
})

describe('compose-file preflight', () => {
  test(
    'a compose service on the amd64-only image fails the step before the build; the summary holds both images',
    async () => {
      const compose = ['services:', '  web:', `    image: ${tc.baseImage}`, '  worker:', `    image: ${amd64Only}`, ''].join('\n')
      const { result: r, repo } = await release({
        name: 'compose',
        dockerfile: [`FROM ${tc.baseImage}`, 'COPY compose.yaml /compose.yaml'],
        files: { 'compose.yaml': compose },
        inputs: { 'compose-file': 'compose.yaml' }
      })
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const [head, ...gaps] = failure(r).split('\n')
      expect(head).toMatch(/^Preflight found images without a requested platform; nothing was built or pushed/)
      expect(gaps).toEqual([`compose.yaml: service worker: ${amd64Only} has no linux/arm64 image (it has linux/amd64)`])
      expect(ranBuild(r)).toBe(false)
      expect(await registry.tags(tc.registry, repo, auth)).toEqual([])
      expect(r.summary).toContain('## Multiarch release: preflight failed')
      expect(r.summary).toContain(
        [
          '### compose.yaml',
          '',
          '| service | image | linux/amd64 | linux/arm64 |',
          '| --- | --- | --- | --- |',
          `| web | \`${tc.baseImage}\` | yes | yes |`,
          `| worker | \`${amd64Only}\` | yes | **missing** |`
        ].join('\n')
      )
      // The Dockerfile's own base image passed and is in the summary too.
      expect(r.summary).toContain(`| \`${tc.baseImage}\` | linux/amd64, linux/arm64, linux/arm/v7 | - | 1 |`)
    },
    TIMEOUT
  )
})

describe('latest: auto', () => {
  const dockerfile = (): string[] => [`FROM ${tc.baseImage}`, 'COPY Dockerfile /Dockerfile']

  test(
    'a back-port v1.2.4 after v2.0.0 pushes 1.2.4, 1.2 and 1 but not latest, and says why',
    async () => {
      const { result: r, repo } = await release({
        name: 'latest-backport',
        dockerfile: dockerfile(),
        tag: 'v1.2.4',
        releases: [published('v1.2.4'), published('v2.0.0'), published('v1.2.3')],
        inputs: { latest: 'auto' }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      // 1.2.4 is the highest 1.x, so 1 moves to it; latest stays on 2.0.0.
      expect(await registry.tags(tc.registry, repo, auth)).toEqual(['1', '1.2', '1.2.4'])
      expect(r.outputs.tags.split('\n').sort()).toEqual(['1', '1.2', '1.2.4'].map(t => `${tc.registry}/${repo}:${t}`))
      expect(logLines(r)).toContain('Version 1.2.4; no latest: 1.2.4 is older than the release v2.0.0')
    },
    TIMEOUT
  )

  test(
    'a back-port v1.2.4 after v1.3.0 and v2.0.0 leaves 1 on v1.3.0: only 1.2.4 and 1.2 are pushed',
    async () => {
      const { result: r, repo } = await release({
        name: 'latest-backport-line',
        dockerfile: dockerfile(),
        tag: 'v1.2.4',
        releases: [published('v1.2.4'), published('v2.0.0'), published('v1.3.0')],
        inputs: { latest: 'auto' }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(await registry.tags(tc.registry, repo, auth)).toEqual(['1.2', '1.2.4'])
      const lines = logLines(r)
      expect(lines).toContain('Version 1.2.4; no latest: 1.2.4 is older than the release v2.0.0')
      expect(lines).toContain('no 1: the release v1.3.0 is higher in that line')
    },
    TIMEOUT
  )

  test(
    'v2.1.0 after v2.0.0 is the highest stable release and pushes latest',
    async () => {
      const { result: r, repo } = await release({
        name: 'latest-newest',
        dockerfile: dockerfile(),
        tag: 'v2.1.0',
        releases: [published('v2.1.0'), published('v2.0.0'), published('v1.2.4')],
        inputs: { latest: 'auto' }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(await registry.tags(tc.registry, repo, auth)).toEqual(['2', '2.1', '2.1.0', 'latest'])
      expect(logLines(r).filter(l => l.startsWith('Version '))).toEqual([expect.stringMatching(/^Version 2\.1\.0; latest: 2\.1\.0 is /)])
      // The releases were read: no fallback to the plain rule.
      expect(annotations(r, 'warning').filter(w => w.message.includes('latest: auto'))).toEqual([])
      const latest = await registry.manifest(tc.registry, repo, 'latest', auth)
      expect(latest.digest).toBe(r.outputs.digest)
    },
    TIMEOUT
  )
})
