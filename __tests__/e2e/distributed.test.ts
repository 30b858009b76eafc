// A distributed release through the bundled action, as a workflow runs it: one job per
// platform pushes by digest, a merge job turns `toJSON(needs.build.outputs)` into the
// release index; and one job that grows its builder with an appended BuildKit node.
// Every check of what was pushed goes through the registry HTTP API.
import path from 'node:path'
import { runAction, type RunResult } from '../../scripts/harness.js'
import { builders, errorAnnotations, expectExit, logTail, newDockerConfig, requireToolchain, secondAddress, tempDir, uniqueRepo, writeProject } from './helpers.js'
import * as registry from './registry.js'

const tc = requireToolchain()
if (!tc.registryNoAuth) throw new Error('CTR_REGISTRY_NOAUTH is not set: these tests push to a registry without auth')
const host = tc.registryNoAuth
const SHA256 = /^sha256:[0-9a-f]{64}$/
const ZERO = `sha256:${'0'.repeat(64)}`
const TIMEOUT = 20 * 60 * 1000

function releaseOf(tag: string): { eventName: string; ref: string; event: Record<string, unknown> } {
  return {
    eventName: 'release',
    ref: `refs/tags/${tag}`,
    event: { action: 'published', release: { tag_name: tag, name: tag, prerelease: false, draft: false, target_commitish: 'main' } }
  }
}

/** Runs main and post like one job, and checks that post left no builder behind. */
async function job(name: string, tag: string, inputs: Record<string, string | boolean>, project = true): Promise<RunResult> {
  const dockerConfig = newDockerConfig()
  const before = await builders(dockerConfig)
  const work = tempDir(name)
  const r = await runAction({
    cwd: work,
    workDir: work,
    ...releaseOf(tag),
    inputs: project ? { context: writeProject(path.join(work, 'project')), ...inputs } : inputs,
    env: { DOCKER_CONFIG: dockerConfig }
  })
  const after = await builders(dockerConfig)
  expect({ job: name, builders: after.builders }).toEqual({ job: name, builders: before.builders })
  return r
}

function lines(text: string | undefined): string[] {
  return (text ?? '').split('\n').map(l => l.trim()).filter(Boolean)
}

describe('distributed release: push by digest, then merge', () => {
  const repo = uniqueRepo('distributed')
  const image = `${host}/${repo}`
  const legs: Record<string, RunResult> = {}

  beforeAll(async () => {
    // The matrix legs run at the same time, as they would on two runners.
    const [amd64, arm64] = await Promise.all(
      ['linux/amd64', 'linux/arm64'].map(platform =>
        job(`leg-${platform.replace(/\//g, '-')}`, 'v1.2.3', { images: image, platforms: platform, 'push-by-digest': true })
      )
    )
    legs['linux/amd64'] = amd64!
    legs['linux/arm64'] = arm64!
  }, TIMEOUT)

  test('each leg pushes its platform without a tag and sets only its own digest output', async () => {
    for (const [platform, r] of Object.entries(legs)) {
      expectExit(r.main, 0, r, `${platform} main`)
      expectExit(r.post, 0, r, `${platform} post`)
      const key = `digest-${platform.replace(/\//g, '-')}`
      const other = platform === 'linux/amd64' ? 'digest-linux-arm64' : 'digest-linux-amd64'
      expect(r.outputs.digest).toMatch(SHA256)
      // The digest to merge is what the leg pushed: with provenance on, an index that holds
      // the image and its attestation, so the attestation reaches the release index.
      expect({ platform, [key]: r.outputs[key] }).toEqual({ platform, [key]: r.outputs.digest })
      expect({ platform, [other]: r.outputs[other] ?? '' }).toEqual({ platform, [other]: '' })
      expect(lines(r.outputs.tags)).toEqual([])

      const digests = JSON.parse(r.outputs.digests ?? 'null') as Record<string, string>
      expect(Object.keys(digests)).toEqual([platform])
      const pushed = await registry.manifest(host, repo, r.outputs.digest!)
      expect(registry.indexEntries(pushed)).toEqual<registry.IndexEntry[]>([
        { digest: digests[platform]!, platform },
        { digest: expect.stringMatching(SHA256) as unknown as string, platform: 'unknown/unknown', attestationOf: digests[platform] }
      ])
      expect(await registry.imageConfigPlatform(host, repo, digests[platform]!)).toBe(platform)
    }
    expect(await registry.tags(host, repo)).toEqual([])
  })

  test('the merge job creates the release index from the legs\' outputs, attestations included', async () => {
    const amd64 = legs['linux/amd64']!
    const arm64 = legs['linux/arm64']!
    // What toJSON(needs.build.outputs) gives when the build job maps these outputs.
    const needsOutputs = {
      'digest-linux-amd64': amd64.outputs['digest-linux-amd64'],
      'digest-linux-arm64': arm64.outputs['digest-linux-arm64'],
      version: arm64.outputs.version
    }
    const r = await job('merge', 'v1.2.3', { images: image, 'merge-digests': JSON.stringify(needsOutputs) }, false)
    expectExit(r.main, 0, r, 'merge main')
    expectExit(r.post, 0, r, 'merge post')

    const legImages: Record<string, string> = {
      'linux/amd64': (JSON.parse(amd64.outputs.digests!) as Record<string, string>)['linux/amd64']!,
      'linux/arm64': (JSON.parse(arm64.outputs.digests!) as Record<string, string>)['linux/arm64']!
    }
    const legAttestations: Record<string, string> = {}
    for (const [platform, leg] of Object.entries(legs)) {
      const pushed = await registry.manifest(host, repo, leg.outputs.digest!)
      legAttestations[platform] = registry.indexEntries(pushed).find(e => e.attestationOf === legImages[platform])!.digest
    }

    expect(r.outputs.version).toBe('1.2.3')
    const tags = ['1.2.3', '1.2', '1', 'latest']
    expect(lines(r.outputs.tags).sort()).toEqual(tags.map(t => `${image}:${t}`).sort())
    expect(JSON.parse(r.outputs.digests ?? 'null')).toEqual(legImages)
    expect(r.outputs['digest-linux-amd64']).toBe(legImages['linux/amd64'])
    expect(r.outputs['digest-linux-arm64']).toBe(legImages['linux/arm64'])
    expect(r.outputs.digest).toMatch(SHA256)

    expect(await registry.tags(host, repo)).toEqual([...tags].sort())
    for (const tag of tags) {
      expect({ tag, digest: (await registry.manifest(host, repo, tag)).digest }).toEqual({ tag, digest: r.outputs.digest })
    }
    const index = await registry.manifest(host, repo, r.outputs.digest!)
    expect(index.mediaType).toBe(registry.MediaType.ociIndex)
    expect(index.json.annotations?.['org.opencontainers.image.version']).toBe('1.2.3')
    expect(registry.indexEntries(index)).toEqual<registry.IndexEntry[]>([
      { digest: legImages['linux/amd64']!, platform: 'linux/amd64' },
      { digest: legAttestations['linux/amd64']!, platform: 'unknown/unknown', attestationOf: legImages['linux/amd64'] },
      { digest: legImages['linux/arm64']!, platform: 'linux/arm64' },
      { digest: legAttestations['linux/arm64']!, platform: 'unknown/unknown', attestationOf: legImages['linux/arm64'] }
    ])
    expect(r.summary).toContain(r.outputs.digest)
  }, TIMEOUT)

  test('a merge with a digest that does not exist fails naming it and pushes nothing', async () => {
    const needsOutputs = { 'digest-linux-amd64': legs['linux/amd64']!.outputs['digest-linux-amd64'], 'digest-linux-arm64': ZERO }
    const r = await job('merge-missing', 'v9.9.9', { images: image, 'merge-digests': JSON.stringify(needsOutputs) }, false)
    expectExit(r.main, 1, r, 'merge main')
    expectExit(r.post, 0, r, 'merge post')
    const errors = errorAnnotations(r)
    if (!errors.some(e => e.includes(ZERO) && e.includes('linux/arm64'))) {
      throw new Error(`no error annotation names ${ZERO} and linux/arm64:\n${errors.join('\n')}\n--- log tail ---\n${logTail(r)}`)
    }
    expect(r.outputs.digest ?? '').toBe('')
    for (const tag of ['9.9.9', '9.9', '9']) expect({ tag, exists: await registry.exists(host, repo, tag) }).toEqual({ tag, exists: false })
  }, TIMEOUT)
})

describe('append', () => {
  test(
    'a remote builder with an appended node builds the two platforms on two nodes and pushes them',
    async () => {
      const addr = process.env.CTR_BUILDKITD_ADDR
      if (!addr) throw new Error('CTR_BUILDKITD_ADDR is not set: the append test needs a BuildKit daemon for the remote driver')
      const repo = uniqueRepo('append-action')
      const alias = secondAddress(addr)
      const r = await job('append', 'v1.0.0', {
        images: `${host}/${repo}`,
        platforms: 'linux/amd64,linux/arm64',
        driver: 'remote',
        endpoint: addr,
        append: `- {name: host, endpoint: "${alias}", platforms: linux/arm64}`
      })
      expectExit(r.main, 0, r, 'main')
      expectExit(r.post, 0, r, 'post')
      // A build split over nodes pushes one result per node, then merges them under the tag.
      expect(r.log).toMatch(new RegExp(`merging manifest list ${host.replace(/\./g, '\\.')}/${repo}:`))

      const tags = ['1.0.0', '1.0', '1', 'latest']
      expect(await registry.tags(host, repo)).toEqual([...tags].sort())
      const index = await registry.manifest(host, repo, 'latest')
      expect(index.digest).toBe(r.outputs.digest)
      const images = registry.indexEntries(index).filter(e => e.attestationOf === undefined)
      expect(images.map(e => e.platform)).toEqual(['linux/amd64', 'linux/arm64'])
      expect(JSON.parse(r.outputs.digests ?? 'null')).toEqual(Object.fromEntries(images.map(e => [e.platform, e.digest])))
      for (const e of images) expect(await registry.imageConfigPlatform(host, repo, e.digest)).toBe(e.platform)
    },
    TIMEOUT
  )
})
