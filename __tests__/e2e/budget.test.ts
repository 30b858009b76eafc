// The docker calls of a typical release, counted: the bundled action, main then post as the
// runner runs them, against bench/fake-docker.sh, which answers every call from output
// captured from the real CLI and logs it, and a registry stand-in for what the action reads
// and tags over the registry API. Needs no engine or registry; bench/run.mjs measures the
// time the same calls take.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { runAction, type RunResult } from '../../scripts/harness.js'
import { startRegistryStandIn, type RegistryStandIn } from '../../scripts/registry-stand-in.js'
import { hostPlatform, parsePlatforms } from '../../src/platforms.js'
import { planEmulation, readEmulators } from '../../src/qemu.js'
import { logTail, repoRoot, tempDir } from './helpers.js'

const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
const USERNAME = 'bench'
const PASSWORD = 'bench-password-not-real'
const MAX_CALLS = 9
const FIXTURES = path.join(repoRoot, '__tests__', 'fixtures')

/** What capture.sh read back from the registry for the OCI index of three platforms the fake answers with. */
const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'buildx', 'attestations.expected.json'), 'utf8')) as {
  topDigest: string
  platforms: Record<string, string>
}
/** That index as the registry stores it. */
const RAW_INDEX = readFileSync(path.join(FIXTURES, 'buildx', 'attestations.raw.json'), 'utf8')

interface LoggedCall {
  argv: string[]
  start: number
  end: number
  exit: number
}

function startsWith(argv: string[], prefix: string[]): boolean {
  return prefix.every((a, i) => argv[i] === a)
}

/**
 * Release v1.2.3 of three platforms with login and a fresh builder, main then post, against
 * the scripted docker; the registry stand-in holds what the scripted build "pushed" and takes
 * the login the scripted CLI stored when `acceptsLogin`.
 */
async function scriptedRelease(name: string, acceptsLogin: boolean): Promise<{ r: RunResult; calls: string[][]; image: string; context: string; registry: RegistryStandIn }> {
  // With the emulators registered, QEMU needs no docker call; without them the action would
  // install them with a privileged container, which no scripted docker can do for the kernel.
  const emulation = planEmulation(parsePlatforms(PLATFORMS), hostPlatform(), readEmulators(), 'auto')
  if (emulation.install.length > 0) {
    throw new Error(
      `This host has no QEMU emulator registered for ${emulation.install.join(', ')}: register them ` +
        '(docker run --privileged --rm tonistiigi/binfmt --install all) before running this test'
    )
  }
  const registry = await startRegistryStandIn({ repository: 'bench/app', index: RAW_INDEX, username: USERNAME, password: acceptsLogin ? PASSWORD : 'another-password' })
  const image = `${registry.host}/bench/app`
  const work = tempDir(name)
  const bin = path.join(work, 'bin')
  mkdirSync(bin)
  symlinkSync(path.join(repoRoot, 'bench', 'fake-docker.sh'), path.join(bin, 'docker'))
  const context = path.join(work, 'project')
  mkdirSync(context)
  writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n')
  const log = path.join(work, 'docker-calls.jsonl')
  writeFileSync(log, '')
  try {
    const r = await runAction({
      cwd: work,
      workDir: work,
      eventName: 'release',
      ref: 'refs/tags/v1.2.3',
      event: { action: 'published', release: { tag_name: 'v1.2.3', name: 'v1.2.3', prerelease: false, draft: false } },
      inputs: { images: image, platforms: PLATFORMS.join(','), context, registry: registry.host, username: USERNAME, password: PASSWORD },
      env: {
        PATH: [bin, process.env.PATH].filter(Boolean).join(path.delimiter),
        FAKE_DOCKER_LOG: log,
        FAKE_DOCKER_DELAY_MS: '0',
        FAKE_DOCKER_FIXTURES: FIXTURES
      },
      timeoutMs: 60_000
    })
    expect({ main: r.main.exitCode, post: r.post?.exitCode, log: r.main.exitCode === 0 && r.post?.exitCode === 0 ? '' : logTail(r) }).toEqual({
      main: 0,
      post: 0,
      log: ''
    })
    const logged = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => JSON.parse(line) as LoggedCall)
      .sort((a, b) => a.start - b.start)
    expect(logged.filter(c => c.exit !== 0).map(c => c.argv)).toEqual([])
    return { r, calls: logged.map(c => c.argv), image, context, registry }
  } finally {
    await registry.close()
  }
}

/** What every scripted release must show: the setup calls once each, the build with its one tag, the builder removed, the outputs. */
function expectRelease(r: RunResult, calls: string[][], image: string, context: string, registry: string): { after: string[][] } {
  const builder = r.state.builder
  expect(builder).toMatch(/^multiarch-release-\d+-1-[0-9a-f]{6}$/)
  // The setup runs concurrently (src/main.ts): the version probe, the login and the builder
  // creation may start in any order. The build follows, then whatever reads and tags what it pushed.
  const version = ['buildx', 'version']
  const login = ['login', '--username', USERNAME, '--password-stdin', registry]
  const create = ['buildx', 'create', '--name', builder!, '--driver', 'docker-container', '--driver-opt', 'network=host', '--bootstrap']
  const setup = calls.slice(0, 3)
  expect([version, login, create].map(p => setup.filter(argv => startsWith(argv, p)).length)).toEqual([1, 1, 1])
  const build = calls[3]!
  expect(build.slice(0, 8)).toEqual(['buildx', 'build', '--builder', builder, '--platform', PLATFORMS.join(','), '--file', path.join(context, 'Dockerfile')])
  expect(build.slice(-2)).toEqual(['--', context])
  // BuildKit would push every blob and manifest again for each tag on the build command.
  expect(build.flatMap((a, i) => (build[i - 1] === '--tag' ? [a] : []))).toEqual([`${image}:1.2.3`])
  expect(build).toContain('--push')
  // Main removes the builder once the release went through; the login went to a private Docker
  // config, which main deletes with the credentials in it, so no logout call is needed. The
  // post step then has nothing to do, and makes no call.
  expect(calls[calls.length - 1]).toEqual(['buildx', 'rm', '--force', builder])
  expect(r.main.stdout).toContain(`credentials for ${registry} removed with the private Docker config`)
  expect(r.state.cleaned).toBe('true')
  expect(r.post?.stdout).toBe('')
  expect(existsSync(r.state.dockerConfig!)).toBe(false)

  const seen = new Set<string>()
  const repeated = calls.map(argv => JSON.stringify(argv)).filter(key => seen.size === seen.add(key).size)
  expect({ repeated }).toEqual({ repeated: [] })
  expect(calls.filter(argv => startsWith(argv, ['buildx', 'version']))).toHaveLength(1)
  for (const probe of [['buildx', 'inspect'], ['buildx', 'ls'], ['version'], ['info'], ['image', 'inspect']]) {
    expect({ probe, times: calls.filter(argv => startsWith(argv, probe)).length }).toEqual({ probe, times: 0 })
  }
  expect(calls.filter(argv => argv.some(a => a.includes(PASSWORD)))).toEqual([])
  expect(calls.length).toBeLessThanOrEqual(MAX_CALLS)

  expect(r.outputs.digest).toBe(expected.topDigest)
  expect(JSON.parse(r.outputs.digests ?? 'null')).toEqual(expected.platforms)
  expect(Object.keys(expected.platforms)).toEqual(PLATFORMS)
  expect(r.outputs.tags?.split('\n')).toEqual(['1.2.3', '1.2', '1', 'latest'].map(t => `${image}:${t}`))
  return { after: calls.slice(4, -1) }
}

test(
  'a three-platform release with login and a fresh builder makes each docker call once, 5 in all',
  async () => {
    const { r, calls, image, context, registry } = await scriptedRelease('budget', true)
    const { after } = expectRelease(r, calls, image, context, registry.host)
    // The digests and the other tags go over the registry API with the stored login: no docker call.
    expect(after).toEqual([])
    expect(calls).toHaveLength(5)
    expect([...registry.tags.keys()].sort()).toEqual(['1', '1.2', 'latest'])
    for (const body of registry.tags.values()) expect(body).toBe(RAW_INDEX)
  },
  90_000
)

test(
  'when the registry API refuses the stored login, imagetools reads and tags: 7 calls, still within 9',
  async () => {
    const { r, calls, image, context, registry } = await scriptedRelease('budget-fallback', false)
    const { after } = expectRelease(r, calls, image, context, registry.host)
    const inspect = ['buildx', 'imagetools', 'inspect', '--builder', r.state.builder!, '--raw', `${image}@${expected.topDigest}`]
    const tag = ['buildx', 'imagetools', 'create', '--builder', r.state.builder!, ...['1.2', '1', 'latest'].flatMap(t => ['--tag', `${image}:${t}`]), `${image}@${expected.topDigest}`]
    expect(after.map(argv => JSON.stringify(argv)).sort()).toEqual([inspect, tag].map(argv => JSON.stringify(argv)).sort())
    expect(registry.tags.size).toBe(0)
    expect(r.log).toContain('the index is read with imagetools: the registry API did not give it')
    expect(r.log).toContain('the tags are added with imagetools: the registry API did not take them')
  },
  90_000
)

/** Node's built-in modules the bundle's entry loads as a post step with this state and nothing to clean up. */
function postStepBuiltins(name: string, state: Record<string, string>): string[] {
  const work = tempDir(name)
  const hook = path.join(work, 'hook.mjs')
  writeFileSync(
    hook,
    "process.on('exit', () => process.stdout.write('\\nLOADED ' + JSON.stringify(process.moduleLoadList.filter(m => m.startsWith('NativeModule ')).map(m => m.slice(13))) + '\\n'))\n"
  )
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('STATE_') && !key.startsWith('INPUT_')))
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, path.join(repoRoot, 'dist', 'index.js')], {
    cwd: work,
    env: { ...env, ...Object.fromEntries(Object.entries(state).map(([key, value]) => [`STATE_${key}`, value])), RUNNER_TEMP: work },
    encoding: 'utf8'
  })
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' })
  const line = r.stdout.split('\n').find(l => l.startsWith('LOADED '))
  return JSON.parse(line!.slice('LOADED '.length)) as string[]
}

test('the post step loads neither main’s code nor an HTTP client', () => {
  // After a failed main: the post step's own chunk. http/https/tls come only with
  // @actions/http-client (undici), zlib only with main's checks: either one here would put
  // their load time into every post step again.
  const loaded = postStepBuiltins('post-load', { isPost: 'true' })
  expect(loaded).toContain('child_process')
  const unwanted = ['http', 'https', 'tls', 'http2', 'internal/deps/undici/undici', 'zlib']
  expect(loaded.filter(m => unwanted.includes(m))).toEqual([])
})

test('after a release that went through, the post step loads nothing beyond its entry', () => {
  // Main cleaned up: no toolkit, no child process, no crypto.
  const loaded = postStepBuiltins('post-cleaned', { isPost: 'true', cleaned: 'true' })
  const fresh = postStepBuiltins('bare-entry', { isPost: 'true' })
  expect(fresh).toContain('child_process')
  expect(loaded.filter(m => ['child_process', 'crypto', 'http', 'https', 'zlib'].includes(m))).toEqual([])
})
