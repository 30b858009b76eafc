import * as fs from 'node:fs'
import * as path from 'node:path'
import { composeFileReport } from './compose.js'
import { parseDockerfile, type Dockerfile } from './dockerfile.js'
import type { Docker } from './docker.js'
import { Input, isRemoteContext, type Inputs } from './inputs.js'
import type { PhaseLog } from './phases.js'
import { hostPlatform, platformEquals, type Platform } from './platforms.js'
import { baseImageReport, emulationPlan, hardcodedArchWarnings } from './preflight.js'
import { errorMessage } from './errors.js'
import { registryClients, type RegistryClient } from './registry.js'
import { describeScan, manifestCheck, scanElf, smokeTest, type LayerCache, type ManifestCheck } from './verify.js'

/** The Dockerfile to check, or none: a merge builds nothing and a remote context is read by BuildKit. */
export function readDockerfile(inputs: Inputs, workspace: string, merging: boolean): Dockerfile | undefined {
  if (merging || isRemoteContext(inputs.context) || !inputs.file) return undefined
  const text = fs.readFileSync(path.resolve(workspace, inputs.file), 'utf8')
  return parseDockerfile(text, { buildArgs: inputs.buildArgs, target: inputs.target, env: process.env, file: inputs.file })
}

/**
 * The platforms that need an emulator: with qemu auto and a Dockerfile, only those
 * a RUN step executes on (a cross-compiling Dockerfile needs none); smoke tests run
 * every platform's image, so they need them all.
 */
export function emulationTargets(inputs: Inputs, df: Dockerfile | undefined, smokeTests: boolean, log: PhaseLog): Platform[] {
  if (inputs.qemu !== 'auto' || !df) return inputs.platforms
  const needs = emulationPlan(df, inputs.platforms, hostPlatform())
  for (const line of needs.lines) log.info(line)
  if (!smokeTests) return needs.platforms
  const wanted = [...needs.platforms]
  for (const p of inputs.platforms) if (!wanted.some(w => platformEquals(w, p))) wanted.push(p)
  return wanted
}

/** A preflight gap; carries the tables, which belong in the summary of a failed step too. */
export class PreflightError extends Error {
  constructor(
    message: string,
    readonly reports: string[]
  ) {
    super(message)
    this.name = 'PreflightError'
  }
}

/**
 * Base images and compose images must have every platform before anything is built.
 * Returns the markdown reports for the step summary.
 */
export async function preflight(docker: Docker, inputs: Inputs, df: Dockerfile | undefined, workspace: string, log: PhaseLog): Promise<string[]> {
  const reports: string[] = []
  const failures: string[] = []
  const host = hostPlatform()
  const fail = inputs.preflight === 'true'
  if (df) {
    for (const w of hardcodedArchWarnings(df, inputs.platforms, host)) log.warning(w.message, { file: inputs.file, startLine: w.line, title: 'hard-coded architecture' })
    const report = await baseImageReport(docker, df, inputs.platforms, host)
    log.info(report.text)
    for (const w of report.warnings) log.warning(w.message, { file: inputs.file, startLine: w.line })
    for (const p of report.problems) {
      if (fail) failures.push(`${inputs.file}:${p.line}: ${p.message}`)
      else log.warning(p.message, { file: inputs.file, startLine: p.line, title: 'base image platforms' })
    }
    reports.push(`### Base images\n\n${report.markdown}`)
  }
  if (inputs.composeFile) {
    const report = await composeFileReport(docker, path.resolve(workspace, inputs.composeFile), inputs.platforms)
    log.info(report.text)
    for (const note of report.notes) log.info(note)
    for (const w of report.warnings) log.warning(w, { file: inputs.composeFile })
    for (const p of report.problems) {
      if (fail && !report.ok) failures.push(`${inputs.composeFile}: ${p}`)
      else log.warning(p, { file: inputs.composeFile, title: 'compose image platforms' })
    }
    reports.push(`### ${inputs.composeFile}\n\n${report.markdown}`)
  }
  if (failures.length > 0) {
    throw new PreflightError(
      `Preflight found images without a requested platform; nothing was built or pushed ` +
        `(set ${Input.preflight}: warn to build anyway):\n${failures.join('\n')}`,
      reports
    )
  }
  return reports
}

/** The registry clients of a release: the digest read, the tags and the checks after the push share them. */
export function releaseRegistryClients(inputs: Inputs): (image: string) => RegistryClient {
  return registryClients({ insecureRegistries: inputs.insecureRegistries })
}

/**
 * Every platform's config must declare the platform its index entry names. A registry
 * this client cannot read (a credential helper, a proxy) skips the check with a warning:
 * it guards against a mislabelled index, and must not fail a release that pushed fine.
 */
export async function checkManifests(inputs: Inputs, digests: Record<string, string>, registry: RegistryClient, log: PhaseLog): Promise<void> {
  let check: ManifestCheck
  try {
    check = await manifestCheck(inputs.images[0], digests, { client: registry })
  } catch (e: unknown) {
    log.warning(`manifest check skipped: the configs could not be read from the registry (${errorMessage(e)})`)
    return
  }
  for (const c of check.checks) if (c.ok) log.info(`${c.platform}: config says ${c.config}`)
  if (!check.ok) throw new Error(`The pushed index names the wrong platform:\n${check.problems.join('\n')}`)
}

/** ELF binaries of another architecture in any platform's filesystem: warned, or failed with verify: strict. */
export async function verifyBinaries(inputs: Inputs, digests: Record<string, string>, registry: RegistryClient, log: PhaseLog): Promise<void> {
  const image = inputs.images[0]
  const found: string[] = []
  // All platforms at once, each shared layer downloaded and unpacked once.
  const layers: LayerCache = new Map()
  const attempts = await Promise.allSettled(
    Object.entries(digests).map(([platform, digest]) => scanElf(`${image}@${digest}`, platform, { client: registry, layers }))
  )
  const unread = attempts.flatMap(a => (a.status === 'rejected' ? [errorMessage(a.reason)] : []))
  if (unread.length > 0) {
    // Unreadable is not wrong: only strict, which vouches for every platform, fails on it.
    const message = `the image could not be read from the registry to verify its binaries: ${unread[0]}`
    if (inputs.verify === 'strict') throw new Error(`verify: strict: ${message}`)
    log.warning(`verify skipped: ${message}`)
  }
  const scans = attempts.flatMap(a => (a.status === 'fulfilled' ? [a.value] : []))
  for (const scan of scans) {
    for (const line of describeScan(scan)) log.info(line)
    for (const m of scan.mismatches) found.push(`${scan.platform}: ${m.path} is ${m.found} (layer ${m.layer})`)
    for (const s of scan.skipped) log.warning(`${scan.platform}: layer ${s.digest} was not scanned: ${s.reason}`)
  }
  if (found.length === 0) return
  const message = `Binaries of another architecture (they fail with "exec format error"):\n${found.join('\n')}`
  if (inputs.verify === 'strict') throw new Error(message)
  log.warning(message, { title: 'verify' })
}

/** The smoke test in each platform's image, one at a time; fails with every failure collected. */
export async function smokeTests(docker: Docker, inputs: Inputs, digests: Record<string, string>, log: PhaseLog): Promise<void> {
  const failures: string[] = []
  for (const [platform, digest] of Object.entries(digests)) {
    const result = await smokeTest(docker, `${inputs.images[0]}@${digest}`, platform, inputs.smokeTest, inputs.smokeTestTimeoutSeconds)
    log.info(`${platform}: ${result.ok ? 'passed' : 'FAILED'} in ${(result.durationMs / 1000).toFixed(1)}s`)
    if (!result.ok) failures.push(result.message)
  }
  if (failures.length > 0) throw new Error(`Smoke test failed:\n${failures.join('\n')}`)
}
