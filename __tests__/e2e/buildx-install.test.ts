// buildx-version: the action runs a standalone buildx release from the runner's tool cache
// instead of the docker CLI plugin, for every buildx call of main and post.
import { chmodSync, copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { runAction, sh } from '../../scripts/harness.js'
import { builders, newDockerConfig, requireToolchain, tempDir, uniqueRepo, writeProject } from './helpers.js'
import * as registry from './registry.js'

const tc = requireToolchain()

/** Where docker finds its buildx plugin, resolved to the real binary. */
async function pluginBinary(): Promise<string> {
  const info = await sh('docker', ['info', '--format', '{{range .ClientInfo.Plugins}}{{if eq .Name "buildx"}}{{.Path}}{{end}}{{end}}'])
  return realpathSync(info.stdout.trim())
}

test('a cached buildx release is used for the build and by the post step, without a download', async () => {
  const version = (await sh('docker', ['buildx', 'version'])).stdout.match(/buildx v?(\d+\.\d+\.\d+)/)?.[1]
  expect(version).toMatch(/^\d+\.\d+\.\d+$/)
  const work = tempDir('buildx-install')
  // The tool cache layout of @actions/tool-cache: <root>/<tool>/<version>/<arch>/ plus a .complete marker.
  const toolCache = path.join(work, 'tool-cache')
  const arch = process.arch
  const dir = path.join(toolCache, 'buildx', version!, arch)
  mkdirSync(dir, { recursive: true })
  copyFileSync(await pluginBinary(), path.join(dir, 'buildx'))
  chmodSync(path.join(dir, 'buildx'), 0o755)
  writeFileSync(`${dir}.complete`, '')

  const dockerConfig = newDockerConfig()
  const before = await builders(dockerConfig)
  const repo = uniqueRepo('buildx-install')
  const result = await runAction({
    cwd: work,
    workDir: work,
    eventName: 'workflow_dispatch',
    ref: 'refs/heads/main',
    inputs: {
      context: writeProject(path.join(work, 'project')),
      images: `${tc.registryNoAuth}/${repo}`,
      platforms: 'linux/amd64,linux/arm64',
      version: '3.1.4',
      'buildx-version': `v${version}`
    },
    env: { DOCKER_CONFIG: dockerConfig, RUNNER_TOOL_CACHE: toolCache }
  })

  expect({ main: result.main.exitCode, post: result.post?.exitCode }).toEqual({ main: 0, post: 0 })
  const cached = path.join(dir, 'buildx')
  expect(result.state.buildxPath).toBe(cached)
  expect(result.main.stdout).toContain(`[command]${cached} build`)
  expect(result.main.stdout).not.toContain('docker buildx build')
  expect(JSON.parse(result.outputs.digests)).toEqual({
    'linux/amd64': expect.stringMatching(/^sha256:/),
    'linux/arm64': expect.stringMatching(/^sha256:/)
  })
  const pushed = await registry.manifest(tc.registryNoAuth, repo, '3.1.4')
  expect(pushed.digest).toBe(result.outputs.digest)
  // The post step removed the builder with the same binary.
  expect((await builders(dockerConfig)).builders).toEqual(before.builders)
}, 10 * 60 * 1000)
