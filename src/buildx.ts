import * as fs from 'node:fs'
import * as path from 'node:path'
import * as semver from 'semver'
import type { Docker } from './docker.js'
import { loadHttpClient } from './shims/http-client.js'

/** Oldest buildx with everything used here: --bootstrap, --metadata-file digests, attestations. */
export const MIN_BUILDX = '0.10.0'

/** `docker buildx version` → "0.13.1"; accepts "v0.19.3 <commit>" and distribution builds like "0.13.1+ds1 0.13.1+ds1-3". */
export function parseBuildxVersion(stdout: string): string | undefined {
  const match = /buildx\s+v?(\d+\.\d+\.\d+)/.exec(stdout)
  return match?.[1]
}

export async function checkBuildx(docker: Docker): Promise<string> {
  const result = await docker.buildx(['version'], { silent: true, allowFailure: true })
  if (result.exitCode !== 0) {
    throw new Error(
      `docker buildx is not available (${result.stderr.trim().split('\n')[0] || `exit code ${result.exitCode}`}): ` +
        'install the buildx plugin on the runner, or set buildx-version to install a release'
    )
  }
  const version = parseBuildxVersion(result.stdout)
  if (version && semver.lt(version, MIN_BUILDX)) {
    throw new Error(`docker buildx ${version} is too old: ${MIN_BUILDX} or newer is needed; set buildx-version: v0.19.3 (or newer) to install one`)
  }
  return version ?? 'unknown'
}

export function buildxAsset(version: string, nodeArch: string): string {
  const arch = { x64: 'amd64', arm64: 'arm64', arm: 'arm-v7', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }[nodeArch] ?? nodeArch
  return `buildx-v${version}.linux-${arch}`
}

/** A buildx release from the tool cache, downloaded into it on first use. */
export async function installBuildx(requested: string, nodeArch = process.arch): Promise<string> {
  const version = requested.replace(/^v/, '')
  // Loaded only on this path: most runs never need the download client.
  await loadHttpClient()
  const tc = await import('@actions/tool-cache')
  let dir = tc.find('buildx', version, nodeArch)
  if (!dir) {
    const url = `https://github.com/docker/buildx/releases/download/v${version}/${buildxAsset(version, nodeArch)}`
    const downloaded = await tc.downloadTool(url)
    dir = await tc.cacheFile(downloaded, 'buildx', 'buildx', version, nodeArch)
  }
  const binary = path.join(dir, 'buildx')
  fs.chmodSync(binary, 0o755)
  return binary
}
