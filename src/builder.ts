import type { Docker } from './docker.js'
import type { Driver } from './inputs.js'

export interface BuilderSpec {
  name: string
  driver: Driver
  driverOpts: string[]
  endpoint: string
  /** Path of the BuildKit config file to pass, or empty. */
  configFile: string
  platforms: string[]
}

/**
 * A name no other run can hold, so a stale builder left by a killed run on a
 * self-hosted runner never collides with this one.
 */
export function builderName(runId: number, runAttempt: number, random: string): string {
  return `multiarch-release-${runId}-${runAttempt}-${random}`
}

/**
 * docker-container builders run BuildKit in their own network namespace, where
 * 127.0.0.1 is not the runner: a loopback registry needs the host network.
 */
export function withHostNetwork(driver: Driver, driverOpts: string[], refs: string[], isLoopback: (ref: string) => boolean): { driverOpts: string[]; reason?: string } {
  if (driver !== 'docker-container' || driverOpts.some(o => o.startsWith('network='))) return { driverOpts }
  const loopback = refs.find(isLoopback)
  if (!loopback) return { driverOpts }
  return { driverOpts: [...driverOpts, 'network=host'], reason: `added driver-opt network=host because ${loopback} is a loopback registry` }
}

export function createArgs(spec: BuilderSpec): string[] {
  const args = ['create', '--name', spec.name, '--driver', spec.driver]
  for (const opt of spec.driverOpts) args.push('--driver-opt', opt)
  if (spec.configFile) args.push('--config', spec.configFile)
  if (spec.platforms.length > 0 && spec.driver === 'remote') args.push('--platform', spec.platforms.join(','))
  args.push('--bootstrap')
  if (spec.endpoint) args.push(spec.endpoint)
  return args
}

export function removeArgs(name: string): string[] {
  return ['rm', '--force', name]
}

export interface RegistryConfig {
  insecureRegistries: string[]
  registryMirrors: string[]
}

/**
 * BuildKit registry sections for plain-HTTP registries and Docker Hub mirrors,
 * appended to the user's config; a section the user wrote already wins.
 */
export function buildkitdConfig(userConfig: string, registries: RegistryConfig): { toml: string; skipped: string[] } {
  const sections: string[] = []
  const skipped: string[] = []
  const has = (host: string): boolean => userConfig.includes(`[registry."${host}"]`)
  if (registries.registryMirrors.length > 0) {
    if (has('docker.io')) skipped.push('docker.io')
    else sections.push(`[registry."docker.io"]\n  mirrors = [${registries.registryMirrors.map(tomlString).join(', ')}]`)
  }
  for (const host of registries.insecureRegistries) {
    if (has(host)) skipped.push(host)
    else sections.push(`[registry.${tomlString(host)}]\n  http = true\n  insecure = true`)
  }
  const parts = [userConfig.trimEnd(), ...sections].filter(p => p !== '')
  return { toml: parts.length ? `${parts.join('\n\n')}\n` : '', skipped }
}

function tomlString(value: string): string {
  return JSON.stringify(value)
}

export async function createBuilder(docker: Docker, spec: BuilderSpec): Promise<void> {
  // Silent for the same reason as the QEMU install: it runs concurrently with it.
  await docker.buildx(createArgs(spec), { silent: true })
}

/** Removes a builder; an already missing builder counts as removed. */
export async function removeBuilder(docker: Docker, name: string): Promise<'removed' | 'absent'> {
  const result = await docker.buildx(removeArgs(name), { allowFailure: true, silent: true })
  if (result.exitCode === 0) return 'removed'
  if (/not found|no builder .* found|failed to find instance/i.test(result.stderr)) return 'absent'
  throw new Error(`docker buildx rm ${name} failed: ${result.stderr.trim().split('\n').slice(-3).join(' ')}`)
}
