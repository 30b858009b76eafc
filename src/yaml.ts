import * as yaml from 'js-yaml'

/** A YAML syntax error, with the line where one is known. */
export class YamlSyntaxError extends Error {
  constructor(
    readonly line: number | undefined,
    readonly reason: string
  ) {
    super(`not valid YAML${line === undefined ? '' : ` at line ${line}`}`)
    this.name = 'YamlSyntaxError'
  }
}

/** Text with nothing but blank lines and comments: a list commented out entirely is no list. */
export function isBlankYaml(text: string): boolean {
  return !text.replace(/^\s*#.*$/gm, '').trim()
}

/**
 * js-yaml's load, with its error reduced to the line and the reason; the message does not
 * quote the source, which for an input may hold a password. `failsafe` keeps every scalar
 * the string it was written as (a username 007 is not 7).
 */
export function loadYaml(text: string, options: { failsafe?: boolean } = {}): unknown {
  try {
    return yaml.load(text, options.failsafe ? { schema: yaml.FAILSAFE_SCHEMA } : undefined)
  } catch (e: unknown) {
    const { mark, reason } = e as { mark?: { line?: number }; reason?: string }
    throw new YamlSyntaxError(typeof mark?.line === 'number' ? mark.line + 1 : undefined, reason ?? String(e))
  }
}
