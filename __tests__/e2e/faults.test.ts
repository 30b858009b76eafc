// The bundled action under registry faults, a wrong password, a missing daemon and a
// cancelled step, against the real engine and registries. A small proxy in front of a
// registry injects the faults and counts the requests; every check of what was pushed goes
// through the registry HTTP API.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { runAction, sh, type RunActionOptions, type RunResult } from '../../scripts/harness.js'
import { RegistryProxy, type Fault, type SeenRequest } from '../../scripts/registry-proxy.js'
import { assertNoSecret, builders, dockerConfigAuths, errorAnnotations, expectExit, logTail, newDockerConfig, requireToolchain, tempDir, uniqueRepo, writeProject } from './helpers.js'
import * as registry from './registry.js'

const tc = requireToolchain()
const auth: registry.Credentials = { user: tc.user, password: tc.password }
const BUILD_TIMEOUT = 20 * 60 * 1000
/** A job token nobody could mistake for other text in a log. */
const GITHUB_TOKEN = 'ghs_multiarchReleaseFaultsTok3n9Q7'
const SHA256 = /^sha256:[0-9a-f]{64}$/

const proxies: RegistryProxy[] = []

async function proxy(upstream: string, faults: Fault[] = []): Promise<RegistryProxy> {
  const p = await new RegistryProxy(upstream, faults).start()
  proxies.push(p)
  return p
}

afterEach(async () => {
  await Promise.all(proxies.splice(0).map(p => p.close()))
})

interface Run {
  name: string
  inputs: NonNullable<RunActionOptions['inputs']>
  dockerConfig?: string
  dockerfile?: string
  env?: Record<string, string>
  killAfterMs?: number
}

/** Main and post on a fresh project, with the recognisable token as the job token. */
async function run(r: Run): Promise<RunResult & { dockerConfig: string }> {
  const dockerConfig = r.dockerConfig ?? newDockerConfig()
  const work = tempDir(r.name)
  const context = writeProject(path.join(work, 'project'), r.dockerfile)
  const result = await runAction({
    cwd: work,
    workDir: work,
    eventName: 'release',
    ref: 'refs/tags/v1.2.3',
    event: { action: 'published', release: { tag_name: 'v1.2.3', name: 'v1.2.3', prerelease: false, draft: false } },
    githubToken: GITHUB_TOKEN,
    inputs: { context, platforms: 'linux/amd64', ...r.inputs },
    env: { DOCKER_CONFIG: dockerConfig, ...r.env },
    killAfterMs: r.killAfterMs
  })
  return { ...result, dockerConfig }
}

/** What every run must leave behind: no builder it created, no credential, no secret in any output. */
async function expectCleanedUp(r: RunResult & { dockerConfig: string }, authsBefore: string[] = []): Promise<void> {
  assertNoSecret(r, tc.password, GITHUB_TOKEN)
  const after = await builders(r.dockerConfig)
  const name = r.state.builder
  if (name) {
    expect({ builderLeft: after.builders.includes(name) }).toEqual({ builderLeft: false })
    expect({ containersLeft: after.containers.filter(c => c === `buildx_buildkit_${name}0`) }).toEqual({ containersLeft: [] })
  }
  expect({ auths: dockerConfigAuths(r.dockerConfig) }).toEqual({ auths: authsBefore })
  if (r.state.dockerConfig) expect({ privateConfigLeft: existsSync(r.state.dockerConfig) }).toEqual({ privateConfigLeft: false })
}

/** A `docker` first on PATH that runs `before` (sh) and then the real CLI: for what the real one cannot do on demand. */
async function wrappedDocker(name: string, before: string): Promise<{ bin: string; dir: string }> {
  const real = (await sh('sh', ['-c', 'command -v docker'])).stdout.trim()
  const dir = tempDir(name)
  const bin = path.join(dir, 'bin')
  mkdirSync(bin)
  writeFileSync(path.join(bin, 'docker'), `#!/bin/sh\n${before}\nexec ${real} "$@"\n`, { mode: 0o755 })
  return { bin, dir }
}

function manifestByDigest(r: SeenRequest): boolean {
  return (r.method === 'GET' || r.method === 'HEAD') && /\/manifests\/sha256:[0-9a-f]{64}$/.test(r.url)
}

/** Manifest requests by digest from buildx imagetools (BuildKit's push and the action's own reads are left alone). */
function imagetoolsManifest(r: SeenRequest): boolean {
  return manifestByDigest(r) && !r.userAgent.startsWith('buildkit/') && !r.userAgent.startsWith('multiarch-release')
}

/** The action's own first read of a manifest by digest: the pushed index, read over the registry API. */
function actionIndexRead(r: SeenRequest): boolean {
  return manifestByDigest(r) && r.method === 'GET' && r.userAgent.startsWith('multiarch-release')
}

/** `<inspect|create> <attempt>` for each retry of an imagetools call after a 503, in log order. */
function imagetoolsRetries(log: string): string[] {
  return log.split('\n').flatMap(l => {
    const m = /docker buildx imagetools (inspect|create) failed \(.*503 Service Unavailable\); retry (\d) of 3 in \d+\.\ds/.exec(l)
    return m ? [`${m[1]} ${m[2]}`] : []
  })
}

describe('faults', () => {
  test(
    'when the registry API does not give the index, imagetools reads it and adds the tags, and two 503s on its reads are retried',
    async () => {
      const p = await proxy(tc.registryNoAuth, [
        { match: actionIndexRead, times: 1, status: 503 },
        { match: imagetoolsManifest, times: 2, status: 503 }
      ])
      const repo = uniqueRepo('faults-503')
      const r = await run({
        name: 'faults-503',
        inputs: {
          images: `${p.host}/${repo}`,
          platforms: 'linux/amd64,linux/arm64',
          retries: 3,
          // A real login alongside, so the registry password is in play for the leak check.
          'registry-auth': `- registry: ${tc.registry}\n  username: ${tc.user}\n  password: ${tc.password}`
        }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(p.faulted.map(f => f.faulted)).toEqual([503, 503, 503])
      // The digest read and the tags share the action's one read of the index, which got the 503.
      const apiFailure = String.raw`\(GET http://127\.0\.0\.1:\d+/v2/\S+/manifests/sha256:[0-9a-f]{64} answered 503`
      expect(r.log).toMatch(new RegExp(`the index is read with imagetools: the registry API did not give it ${apiFailure}`))
      expect(r.log).toMatch(new RegExp(`the tags are added with imagetools: the registry API did not take them ${apiFailure}`))
      // imagetools inspect and imagetools create both read the index, at the same time: either
      // may get the two 503s, and each call counts its own retries.
      expect([['inspect 1', 'inspect 2'], ['create 1', 'create 2'], ['create 1', 'inspect 1']]).toContainEqual([...imagetoolsRetries(r.log)].sort())

      expect(r.outputs.digest).toMatch(SHA256)
      expect(await registry.tags(tc.registryNoAuth, repo)).toEqual(['1', '1.2', '1.2.3', 'latest'])
      expect((await registry.manifest(tc.registryNoAuth, repo, '1.2.3')).digest).toBe(r.outputs.digest)
      const digests = JSON.parse(r.outputs.digests ?? '{}') as Record<string, string>
      expect(Object.keys(digests).sort()).toEqual(['linux/amd64', 'linux/arm64'])
      for (const [platform, digest] of Object.entries(digests)) {
        expect(await registry.imageConfigPlatform(tc.registryNoAuth, repo, digest)).toBe(platform)
      }
      await expectCleanedUp(r)
    },
    BUILD_TIMEOUT
  )

  test(
    'a registry that goes down while the pushed index is read (reset, then refused) and comes back is retried',
    async () => {
      const p = await proxy(tc.registryNoAuth)
      // The action's own read of the index goes first; imagetools then finds the registry down.
      p.restartOn(actionIndexRead, 2500)
      const repo = uniqueRepo('faults-restart')
      const r = await run({ name: 'faults-restart', inputs: { images: `${p.host}/${repo}`, platforms: 'linux/amd64,linux/arm64', retries: 5 } })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(p.downMs).toBeGreaterThanOrEqual(2500)
      const retries = r.log.split('\n').filter(l => /; retry \d of 5 in \d+\.\ds/.test(l))
      expect(retries.length).toBeGreaterThanOrEqual(1)
      expect(retries[0]).toMatch(/connection (reset|refused)|refused the connection|EOF/i)
      expect((await registry.manifest(tc.registryNoAuth, repo, '1.2.3')).digest).toBe(r.outputs.digest)
      await expectCleanedUp(r)
    },
    BUILD_TIMEOUT
  )

  test(
    'a wrong password is tried once, fails the step with a clear message, and post still succeeds',
    async () => {
      const p = await proxy(tc.registry)
      const repo = uniqueRepo('faults-401')
      const wrong = `wrong-${randomBytes(8).toString('hex')}`
      const r = await run({
        name: 'faults-401',
        inputs: {
          images: `${p.host}/${repo}`,
          registry: p.host,
          username: tc.user,
          password: wrong,
          retries: 3,
          // The real password too, for a login that never comes: it must stay hidden all the same.
          'registry-auth': `- registry: ${tc.registry}\n  username: ${tc.user}\n  password: ${tc.password}`
        }
      })
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      const attempts = p.requests.filter(q => q.method === 'GET' && q.url === '/v2/' && q.authorized)
      expect(attempts).toHaveLength(1)
      const error = errorAnnotations(r).find(e => e.includes(p.host))
      if (!error) throw new Error(`no error annotation names ${p.host}:\n${errorAnnotations(r).join('\n')}\n--- log tail ---\n${logTail(r)}`)
      expect(error).toMatch(/log ?in/i)
      expect(error).toMatch(/401|unauthorized/i)
      expect(error).toMatch(/username and password/)
      expect(r.log).not.toMatch(/retry \d of \d/)
      expect(await registry.tags(tc.registry, repo, auth)).toEqual([])
      assertNoSecret(r, wrong)
      await expectCleanedUp(r)
    },
    BUILD_TIMEOUT
  )

  test(
    'no Docker daemon: the step fails within seconds and says how to fix it',
    async () => {
      const repo = uniqueRepo('faults-nodaemon')
      const r = await run({
        name: 'faults-nodaemon',
        inputs: { images: `${tc.registryNoAuth}/${repo}`, retries: 3 },
        env: { DOCKER_HOST: 'unix:///nonexistent.sock' }
      })
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(r.main.durationMs).toBeLessThan(15_000)
      const error = errorAnnotations(r).find(e => /Docker daemon/i.test(e))
      if (!error) throw new Error(`no error annotation names the Docker daemon:\n${errorAnnotations(r).join('\n')}\n--- log tail ---\n${logTail(r)}`)
      expect(error).toContain('unix:///nonexistent.sock')
      expect(error).toMatch(/unreachable/i)
      expect(error).toContain('DOCKER_HOST')
      expect(r.log).not.toMatch(/retry \d of \d/)
      assertNoSecret(r, tc.password, GITHUB_TOKEN)
      // The post step could not reach the daemon either; buildx may keep the builder's name in
      // this DOCKER_CONFIG, which the real daemon then lists as a builder without a container.
      if (r.state.builder) {
        const ps = await sh('docker', ['ps', '-a', '--filter', `name=buildx_buildkit_${r.state.builder}0`, '--format', '{{.Names}}'])
        expect(ps.stdout.trim()).toBe('')
        await sh('docker', ['buildx', 'rm', '--force', r.state.builder], { env: { DOCKER_CONFIG: r.dockerConfig }, allowFailure: true })
      }
    },
    BUILD_TIMEOUT
  )

  test(
    'a buildx too old fails the step with the version check, builds nothing, and the builder created beside the check is removed',
    async () => {
      // No buildx older than 0.10 is at hand: this docker says it is 0.9.1 and runs the real CLI for everything else.
      const { bin } = await wrappedDocker('faults-old-buildx-bin', `if [ "$1 $2" = "buildx version" ]; then echo 'github.com/docker/buildx v0.9.1 ed00243'; exit 0; fi`)
      const repo = uniqueRepo('faults-old-buildx')
      const r = await run({
        name: 'faults-old-buildx',
        inputs: { images: `${tc.registryNoAuth}/${repo}` },
        env: { PATH: `${bin}${path.delimiter}${process.env.PATH}` }
      })
      expectExit(r.main, 1, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(errorAnnotations(r)).toEqual([expect.stringContaining('docker buildx 0.9.1 is too old: 0.10.0 or newer is needed; set buildx-version')])
      expect(r.log).not.toContain('buildx build')
      expect(await registry.tags(tc.registryNoAuth, repo)).toEqual([])
      // Created while the check ran, and left to the post step to remove.
      expect(r.state.builder).toMatch(/^multiarch-release-/)
      await expectCleanedUp(r)
    },
    BUILD_TIMEOUT
  )

  test(
    'when main cannot remove its builder after the release, the post step does',
    async () => {
      // The first `buildx rm` fails (main's), the next one (the post step's) runs the real CLI.
      const { bin, dir } = await wrappedDocker(
        'faults-rm-bin',
        `if [ "$1 $2" = "buildx rm" ] && [ ! -e "$(dirname "$0")/../rm-failed" ]; then touch "$(dirname "$0")/../rm-failed"; echo 'ERROR: failed to remove builder: device busy' >&2; exit 1; fi`
      )
      const repo = uniqueRepo('faults-rm')
      const r = await run({
        name: 'faults-rm',
        inputs: { images: `${tc.registry}/${repo}`, registry: tc.registry, username: tc.user, password: tc.password },
        env: { PATH: `${bin}${path.delimiter}${process.env.PATH}` }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(existsSync(path.join(dir, 'rm-failed'))).toBe(true)
      expect(r.main.stdout).toMatch(/::warning::Could not remove builder multiarch-release-\S+: .*device busy/)
      // Not marked as cleaned: the post step removed the builder, the private config already gone.
      expect(r.state.cleaned).toBeUndefined()
      expect(r.post?.stdout).toContain(`builder ${r.state.builder}: `)
      await expectCleanedUp(r)
    },
    BUILD_TIMEOUT
  )

  test(
    'a step cancelled during the build is cleaned up by its post step, and the next run succeeds',
    async () => {
      const repo = uniqueRepo('faults-killed')
      const dockerfile = [`FROM ${tc.baseImage}`, 'ARG SLEEP=0', 'RUN sleep "$SLEEP" && uname -m > /arch', 'CMD ["cat", "/arch"]', ''].join('\n')
      const inputs = { images: `${tc.registry}/${repo}`, registry: tc.registry, username: tc.user, password: tc.password }
      const killed = await run({ name: 'faults-killed', inputs: { ...inputs, 'build-args': 'SLEEP=120' }, dockerfile, killAfterMs: 20_000 })
      expect(killed.main.killed).toBe(true)
      expect(killed.main.exitCode).not.toBe(0)
      // The cancel came while the build ran, not before it.
      expect(killed.main.stdout).toContain('::group::Build and push')
      expect(killed.state.builder).toMatch(/^multiarch-release-/)
      expect(killed.state.dockerConfig).toBeTruthy()
      expectExit(killed.post, 0, killed, 'post of the cancelled run')
      await expectCleanedUp(killed)
      expect(await registry.tags(tc.registry, repo, auth)).toEqual([])

      const again = await run({ name: 'faults-again', inputs, dockerfile, dockerConfig: killed.dockerConfig })
      expectExit(again.main, 0, again, 'main of the second run')
      expectExit(again.post, 0, again, 'post of the second run')
      expect(again.state.builder).not.toBe(killed.state.builder)
      expect(await registry.tags(tc.registry, repo, auth)).toEqual(['1', '1.2', '1.2.3', 'latest'])
      await expectCleanedUp(again)
    },
    BUILD_TIMEOUT
  )

  test(
    "a self-hosted runner's own Docker credentials stay exactly as they were",
    async () => {
      const dockerConfig = newDockerConfig()
      const configFile = path.join(dockerConfig, 'config.json')
      const own =
        JSON.stringify(
          {
            auths: { 'other-registry.invalid:5000': { auth: Buffer.from('runner-user:runner-own-credential').toString('base64') } },
            psFormat: 'table {{.ID}}\\t{{.Names}}'
          },
          null,
          '\t'
        ) + '\n'
      writeFileSync(configFile, own)
      const before = readFileSync(configFile)
      const repo = uniqueRepo('faults-selfhosted')
      const r = await run({
        name: 'faults-selfhosted',
        dockerConfig,
        inputs: { images: `${tc.registry}/${repo}`, registry: tc.registry, username: tc.user, password: tc.password }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(await registry.tags(tc.registry, repo, auth)).toEqual(['1', '1.2', '1.2.3', 'latest'])
      expect(readFileSync(configFile).equals(before)).toBe(true)
      await expectCleanedUp(r, ['other-registry.invalid:5000'])
      assertNoSecret(r, 'runner-own-credential', Buffer.from('runner-user:runner-own-credential').toString('base64'))
    },
    BUILD_TIMEOUT
  )

  test(
    'with a credential helper in the runner’s config, the step logs out before it deletes the private config',
    async () => {
      // A helper (for another registry) stays in the private config, so the logins may not all
      // be in its config.json: the cleanup runs docker logout instead of trusting the deletion.
      const dockerConfig = newDockerConfig()
      writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ credHelpers: { 'other-registry.invalid': 'no-such-helper' } }))
      const { bin, dir } = await wrappedDocker('faults-helper-bin', 'echo "$*" >> "$(dirname "$0")/../calls.log"')
      const calls = path.join(dir, 'calls.log')
      const repo = uniqueRepo('faults-helper')
      const r = await run({
        name: 'faults-helper',
        dockerConfig,
        inputs: { images: `${tc.registry}/${repo}`, registry: tc.registry, username: tc.user, password: tc.password },
        env: { PATH: `${bin}${path.delimiter}${process.env.PATH}` }
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      expect(readFileSync(calls, 'utf8').split('\n')).toContain(`logout ${tc.registry}`)
      expect(r.log).not.toContain('removed with the private Docker config')
      await expectCleanedUp(r)
    },
    BUILD_TIMEOUT
  )
})
