/** A bad input: names the input and the form it expects. Raised before any side effect. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    detail: string
  ) {
    super(`Input "${input}": ${detail}`)
    this.name = 'InputError'
  }
}

/** A docker command that exited non-zero; carries the command line and the tail of its stderr. */
export class DockerCommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string
  ) {
    super(
      `\`${command}\` failed with exit code ${exitCode}` +
        (stderr.trim() ? `:\n${tail(stderr, 20)}` : ' and no error output')
    )
    this.name = 'DockerCommandError'
  }
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

/** The message of anything thrown, so a thrown string or object still fails the step with text. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message
  if (typeof e === 'string') return e
  try {
    return JSON.stringify(e) ?? String(e)
  } catch {
    return String(e)
  }
}
