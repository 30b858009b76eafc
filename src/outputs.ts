import * as core from '@actions/core'
import { archiveOutputs } from './archive.js'
import { platformOutputKey } from './platforms.js'

/** Output names, written once: action.yml declares the same. */
export const Output = {
  digest: 'digest',
  digests: 'digests',
  version: 'version',
  tags: 'tags',
  images: 'images',
  metadata: 'metadata'
} as const

export function platformDigestOutput(platform: string): string {
  return `digest-${platformOutputKey(platform)}`
}

export interface ReleaseResult {
  version: string
  images: string[]
  /** Full references, image:tag. */
  tags: string[]
  pushed: boolean
  /** Index (or single manifest) digest pushed under the tags; empty when nothing was pushed. */
  digest: string
  /** platform → image manifest digest, in the requested order. */
  digests: Record<string, string>
  metadata: string
  /** platform → path of its image archive. */
  archives?: Record<string, string>
  /** Markdown sections (preflight tables) for the step summary. */
  reports?: string[]
  /** platform → the digest-<platform> output where it differs from `digests` (a leg pushed by digest). */
  platformOutputs?: Record<string, string>
}

/** Every output the step sets, as name → value; pure, so it is tested directly. */
export function outputValues(result: ReleaseResult): Record<string, string> {
  const values: Record<string, string> = {
    [Output.version]: result.version,
    [Output.images]: result.images.join('\n'),
    [Output.tags]: result.tags.join('\n'),
    [Output.digest]: result.digest,
    [Output.digests]: JSON.stringify(result.digests),
    [Output.metadata]: result.metadata
  }
  for (const [platform, digest] of Object.entries({ ...result.digests, ...result.platformOutputs })) {
    values[platformDigestOutput(platform)] = digest
  }
  if (result.archives && Object.keys(result.archives).length > 0) Object.assign(values, archiveOutputs(result.archives))
  return values
}

export function summaryMarkdown(result: ReleaseResult): string {
  const out: string[] = ['## Multiarch release', '']
  out.push(`Version **${result.version}**${result.pushed ? '' : ' (not pushed)'}`, '')
  if (result.digest) out.push(`Index digest: \`${result.digest}\``, '')
  out.push('| tag |', '| --- |', ...result.tags.map(tag => `| \`${tag}\` |`), '')
  const platforms = Object.entries(result.digests)
  if (platforms.length > 0) {
    out.push('| platform | digest |', '| --- | --- |', ...platforms.map(([p, d]) => `| ${p} | \`${d}\` |`), '')
  }
  const archives = Object.entries(result.archives ?? {})
  if (archives.length > 0) {
    out.push('| platform | archive |', '| --- | --- |', ...archives.map(([p, file]) => `| ${p} | \`${file}\` |`), '')
  }
  for (const report of result.reports ?? []) out.push(report, '')
  return out.join('\n')
}

/** The last lines of the log: what was pushed, one line per platform, ready to copy into a pull. */
export function closingLines(result: ReleaseResult): string[] {
  const image = result.images[0]
  if (!result.pushed || !result.digest) {
    const archived = Object.entries(result.archives ?? {}).map(([p, file]) => `${p.padEnd(14)} ${file}`)
    return [`${result.version}: built, not pushed`, ...archived]
  }
  return [
    `${result.version}: ${image}@${result.digest}`,
    ...Object.entries(result.digests).map(([p, d]) => `${p.padEnd(14)} ${image}@${d}`)
  ]
}

export async function writeOutputs(result: ReleaseResult): Promise<void> {
  for (const [name, value] of Object.entries(outputValues(result))) core.setOutput(name, value)
  for (const line of closingLines(result)) core.info(line)
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(summaryMarkdown(result)).write()
  }
}

/** The preflight tables of a step that failed on them: the user needs them most then. */
export async function writeFailureSummary(reports: string[]): Promise<void> {
  if (process.env.GITHUB_STEP_SUMMARY && reports.length > 0) {
    await core.summary.addRaw(['## Multiarch release: preflight failed', '', ...reports, ''].join('\n')).write()
  }
}
