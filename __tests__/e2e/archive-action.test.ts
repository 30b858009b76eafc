// The bundled action with `archive`: per-platform archives for an air-gapped machine, checked
// with sha256sum, docker load and the registry HTTP API.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { runAction, sh, type RunResult } from '../../scripts/harness.js'
import { builders, dockerConfigAuths, expectExit, newDockerConfig, requireToolchain, tempDir, uniqueRepo, writeProject } from './helpers.js'
import * as registry from './registry.js'

const tc = requireToolchain()
const TIMEOUT = 20 * 60 * 1000
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
const KEYS = ['linux-amd64', 'linux-arm64', 'linux-arm-v7']
const RELEASE = {
  eventName: 'release',
  ref: 'refs/tags/v1.2.3',
  event: { action: 'published', release: { tag_name: 'v1.2.3', name: 'v1.2.3', prerelease: false, draft: false, target_commitish: 'main' } }
}

interface Run {
  result: RunResult
  work: string
  dockerConfig: string
  image: string
  repo: string
}

async function release(name: string, inputs: Record<string, string>): Promise<Run> {
  const dockerConfig = newDockerConfig()
  const before = await builders(dockerConfig)
  const work = tempDir(name)
  const repo = uniqueRepo(name)
  const image = `${tc.registryNoAuth}/${repo}`
  const context = writeProject(path.join(work, 'project'))
  const result = await runAction({
    ...RELEASE,
    cwd: work,
    workDir: work,
    inputs: { images: image, platforms: PLATFORMS.join(','), context: path.relative(work, context), ...inputs },
    env: { DOCKER_CONFIG: dockerConfig }
  })
  expectExit(result.main, 0, result, 'main')
  expectExit(result.post, 0, result, 'post')
  const after = await builders(dockerConfig)
  expect({ newBuilders: after.builders.filter(b => !before.builders.includes(b)) }).toEqual({ newBuilders: [] })
  return { result, work, dockerConfig, image, repo }
}

function fileNames(image: string, ext: string): string[] {
  return KEYS.map(key => `${image.replace(/[/:]/g, '_')}_1.2.3_${key}${ext}`)
}

/** The outputs promise: a JSON map in platform order and one archive-<platform> each, all existing files. */
function expectArchiveOutputs(r: RunResult, dir: string, names: string[]): Record<string, string> {
  const archives = JSON.parse(r.outputs.archives ?? 'null') as Record<string, string>
  expect(archives).toEqual(Object.fromEntries(PLATFORMS.map((p, i) => [p, path.join(dir, names[i])])))
  expect(Object.keys(archives)).toEqual(PLATFORMS)
  for (const [i, key] of KEYS.entries()) expect(r.outputs[`archive-${key}`]).toBe(path.join(dir, names[i]))
  for (const key of ['linux-arm-v6', 'linux-386', 'linux-ppc64le', 'linux-s390x', 'linux-riscv64']) {
    expect(r.outputs[`archive-${key}`] ?? '').toBe('')
  }
  expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', ...names].sort())
  return archives
}

async function expectSumsCheck(dir: string, names: string[]): Promise<void> {
  const check = await sh('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, allowFailure: true })
  expect({ exitCode: check.exitCode, stdout: check.stdout }).toEqual({ exitCode: 0, stdout: names.map(n => `${n}: OK\n`).join('') })
}

describe('archive input', () => {
  test(
    'push: false, no credentials: three archives and SHA256SUMS, outputs set, nothing pushed, no login',
    async () => {
      const { result: r, work, dockerConfig, image, repo } = await release('archive-action', { push: 'false', archive: 'dist/images' })
      const dir = path.join(work, 'dist', 'images')
      const names = fileNames(image, '.tar')
      const archives = expectArchiveOutputs(r, dir, names)
      await expectSumsCheck(dir, names)

      expect(r.outputs.digest ?? '').toBe('')
      expect(await registry.tags(tc.registryNoAuth, repo)).toEqual([])
      expect(dockerConfigAuths(dockerConfig)).toEqual([])
      expect(r.log).not.toMatch(/docker login|logged in to/)
      expect(r.state.logins ?? '').toBe('')
      expect(r.log).toMatch(/exported 3 docker archive\(s\), compression none, in \d+\.\ds/)

      const refs = [`${image}:1.2.3`, `${image}:1.2`, `${image}:1`, `${image}:latest`].sort()
      const env = { DOCKER_CONFIG: dockerConfig }
      try {
        const load = await sh('docker', ['load', '-i', archives['linux/arm64']], { env })
        expect([...load.stdout.matchAll(/^Loaded image: (\S+)$/gm)].map(m => m[1]).sort()).toEqual(refs)
        const run = await sh('docker', ['run', '--rm', '--platform', 'linux/arm64', `${image}:1.2.3`], { env })
        expect(run.stdout.trim()).toBe('aarch64')
      } finally {
        await sh('docker', ['image', 'rm', ...refs], { env, allowFailure: true })
      }
      expect(readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8').split('\n').filter(Boolean)).toHaveLength(3)
    },
    TIMEOUT
  )

  test(
    'push and archive-format oci with gzip: the archives hold the manifests the push published',
    async () => {
      const { result: r, work, image, repo } = await release('archive-oci', {
        push: 'true',
        archive: 'out',
        'archive-format': 'oci',
        'archive-compression': 'gzip'
      })
      const dir = path.join(work, 'out')
      const names = fileNames(image, '.tar.gz')
      const archives = expectArchiveOutputs(r, dir, names)
      await expectSumsCheck(dir, names)
      expect(await registry.tags(tc.registryNoAuth, repo)).toEqual(['1', '1.2', '1.2.3', 'latest'])
      expect(r.log).toMatch(/exported 3 oci archive\(s\), compression gzip, in \d+\.\ds/)

      const digests = JSON.parse(r.outputs.digests ?? 'null') as Record<string, string>
      for (const platform of PLATFORMS) {
        const layout = path.join(work, 'untar', platform.replace(/\//g, '-'))
        await sh('mkdir', ['-p', layout])
        await sh('sh', ['-c', 'gzip -dc "$0" | tar -x -C "$1"', archives[platform], layout])
        const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
        expect({ platform, manifests: index.manifests.map(m => m.digest) }).toEqual({ platform, manifests: [digests[platform], digests[platform], digests[platform], digests[platform]] })
      }
    },
    TIMEOUT
  )
})
