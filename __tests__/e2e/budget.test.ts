// The docker calls of a typical release, counted: the bundled action, main then post as the
// runner runs them, against bench/fake-docker.sh, which answers every call from output
// captured from the real CLI and logs it. Needs no engine or registry; bench/run.mjs measures
// the time the same calls take.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { runAction } from '../../scripts/harness.js'
import { hostPlatform, parsePlatforms } from '../../src/platforms.js'
import { planEmulation, readEmulators } from '../../src/qemu.js'
import { logTail, repoRoot, tempDir } from './helpers.js'

const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
const REGISTRY = '127.0.0.1:5000'
const IMAGE = `${REGISTRY}/bench/app`
const USERNAME = 'bench'
const PASSWORD = 'bench-password-not-real'
const MAX_CALLS = 9
const FIXTURES = path.join(repoRoot, '__tests__', 'fixtures')

/** What capture.sh read back from the registry for the OCI index of three platforms the fake answers with. */
const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'buildx', 'attestations.expected.json'), 'utf8')) as {
  topDigest: string
  platforms: Record<string, string>
}

interface LoggedCall {
  argv: string[]
  start: number
  end: number
  exit: number
}

/** Calls that only ask something, and how often a release needs each answer. */
const PROBES: Array<[string[], number]> = [
  [['buildx', 'version'], 1],
  [['buildx', 'imagetools', 'inspect'], 1],
  [['buildx', 'inspect'], 0],
  [['buildx', 'ls'], 0],
  [['version'], 0],
  [['info'], 0],
  [['image', 'inspect'], 0]
]

function startsWith(argv: string[], prefix: string[]): boolean {
  return prefix.every((a, i) => argv[i] === a)
}

test(
  'a three-platform release with login and a fresh builder makes each docker call once, at most 9 in all',
  async () => {
    // With the emulators registered, QEMU needs no docker call; without them the action would
    // install them with a privileged container, which no scripted docker can do for the kernel.
    const emulation = planEmulation(parsePlatforms(PLATFORMS), hostPlatform(), readEmulators(), 'auto')
    if (emulation.install.length > 0) {
      throw new Error(
        `This host has no QEMU emulator registered for ${emulation.install.join(', ')}: register them ` +
          '(docker run --privileged --rm tonistiigi/binfmt --install all) before running this test'
      )
    }

    const work = tempDir('budget')
    const bin = path.join(work, 'bin')
    mkdirSync(bin)
    symlinkSync(path.join(repoRoot, 'bench', 'fake-docker.sh'), path.join(bin, 'docker'))
    const context = path.join(work, 'project')
    mkdirSync(context)
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n')
    const log = path.join(work, 'docker-calls.jsonl')
    writeFileSync(log, '')

    const r = await runAction({
      cwd: work,
      workDir: work,
      eventName: 'release',
      ref: 'refs/tags/v1.2.3',
      event: { action: 'published', release: { tag_name: 'v1.2.3', name: 'v1.2.3', prerelease: false, draft: false } },
      inputs: { images: IMAGE, platforms: PLATFORMS.join(','), context, registry: REGISTRY, username: USERNAME, password: PASSWORD },
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
    const calls = logged.map(c => c.argv)

    const builder = r.state.builder
    expect(builder).toMatch(/^multiarch-release-\d+-1-[0-9a-f]{6}$/)
    // The setup runs concurrently (src/main.ts): the version probe, the login and the builder
    // creation may start in any order. Everything after is sequential.
    const version = ['buildx', 'version']
    const login = ['login', '--username', USERNAME, '--password-stdin', REGISTRY]
    const create = ['buildx', 'create', '--name', builder, '--driver', 'docker-container', '--driver-opt', 'network=host', '--bootstrap']
    const prefix = (argv: string[], of: string[]): string[] => argv.slice(0, of.length)
    const setup = calls.slice(0, 3)
    expect([version, login, create].map(p => setup.filter(argv => startsWith(argv, p)).length)).toEqual([1, 1, 1])
    // The build pushes one tag; the index read and the other tags run concurrently after it,
    // with imagetools here: the scripted login leaves no credentials for the registry API (with
    // them, both go over the API and a release makes two calls fewer).
    // The post step removes the builder; the login went to a private Docker config, which the
    // post step deletes with the credentials in it, so no logout call is needed.
    const build = ['buildx', 'build', '--builder', builder, '--platform', PLATFORMS.join(','), '--file', path.join(context, 'Dockerfile')]
    const inspect = ['buildx', 'imagetools', 'inspect', '--builder', builder, '--raw', `${IMAGE}@${expected.topDigest}`]
    const later = ['1.2', '1', 'latest'].map(t => `${IMAGE}:${t}`)
    const tag = ['buildx', 'imagetools', 'create', '--builder', builder, ...later.flatMap(ref => ['--tag', ref]), `${IMAGE}@${expected.topDigest}`]
    const rm = ['buildx', 'rm', '--force', builder]
    expect(prefix(calls[3]!, build)).toEqual(build)
    expect([calls[4], calls[5]].map(argv => JSON.stringify(argv)).sort()).toEqual([inspect, tag].map(argv => JSON.stringify(argv)).sort())
    expect(calls.slice(6)).toEqual([rm])
    expect(r.post?.stdout).toContain(`credentials for ${REGISTRY} removed with the private Docker config`)
    expect(existsSync(r.state.dockerConfig!)).toBe(false)
    expect(calls.length).toBeLessThanOrEqual(MAX_CALLS)

    // BuildKit would push every blob and manifest again for each tag on the build command.
    const built = calls[3]!
    expect(built.flatMap((a, i) => (built[i - 1] === '--tag' ? [a] : []))).toEqual([`${IMAGE}:1.2.3`])
    expect(built).toContain('--push')
    expect(built.slice(-2)).toEqual(['--', context])
    expect(r.outputs.tags?.split('\n')).toEqual(['1.2.3', '1.2', '1', 'latest'].map(t => `${IMAGE}:${t}`))

    const seen = new Set<string>()
    const repeated = calls.map(argv => JSON.stringify(argv)).filter(key => seen.size === seen.add(key).size)
    expect({ repeated }).toEqual({ repeated: [] })
    for (const [probe, times] of PROBES) {
      expect({ probe, times: calls.filter(argv => startsWith(argv, probe)).length }).toEqual({ probe, times })
    }
    expect(calls.filter(argv => argv.some(a => a.includes(PASSWORD)))).toEqual([])

    expect(r.outputs.digest).toBe(expected.topDigest)
    expect(JSON.parse(r.outputs.digests ?? 'null')).toEqual(expected.platforms)
    expect(Object.keys(expected.platforms)).toEqual(PLATFORMS)
  },
  90_000
)

test('the post step loads neither main’s code nor an HTTP client', () => {
  // Node's built-in modules loaded by the post step with nothing to clean up, from the process
  // itself. http/https/tls come only with @actions/http-client (undici), zlib only with main's
  // checks: either one here would put their load time into every post step again.
  const work = tempDir('post-load')
  const hook = path.join(work, 'hook.mjs')
  writeFileSync(
    hook,
    "process.on('exit', () => process.stdout.write('\\nLOADED ' + JSON.stringify(process.moduleLoadList.filter(m => m.startsWith('NativeModule ')).map(m => m.slice(13))) + '\\n'))\n"
  )
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('STATE_') && !name.startsWith('INPUT_')))
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, path.join(repoRoot, 'dist', 'index.js')], {
    cwd: work,
    env: { ...env, STATE_isPost: 'true', RUNNER_TEMP: work },
    encoding: 'utf8'
  })
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' })
  const line = r.stdout.split('\n').find(l => l.startsWith('LOADED '))
  const loaded = JSON.parse(line!.slice('LOADED '.length)) as string[]
  expect(loaded).toContain('child_process')
  const unwanted = ['http', 'https', 'tls', 'http2', 'internal/deps/undici/undici', 'zlib']
  expect(loaded.filter(m => unwanted.includes(m))).toEqual([])
})
