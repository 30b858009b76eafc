import * as exec from '@actions/exec'
import { DockerCommandError } from './errors.js'

export interface RunOptions {
  /** Written to stdin; how passwords reach `docker login`, never through argv. */
  input?: string
  /** Capture without echoing the command or its output (inspections whose result we print ourselves). */
  silent?: boolean
  /** Return a non-zero exit instead of throwing, for probes where failure is an answer. */
  allowFailure?: boolean
  /** Extra environment for this call only (build secrets travel here, not in argv). */
  env?: Record<string, string>
}

export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** The only way out to the docker CLI; tests and the benchmark count calls through this seam. */
export interface Docker {
  run(args: string[], options?: RunOptions): Promise<ExecResult>
  /** `docker buildx ...`, or a standalone buildx binary when one was installed. */
  buildx(args: string[], options?: RunOptions): Promise<ExecResult>
}

export class DockerCli implements Docker {
  /** Path of a standalone buildx binary; empty means the docker CLI plugin. */
  buildxPath = ''

  constructor(private readonly dockerPath = 'docker') {}

  run(args: string[], options: RunOptions = {}): Promise<ExecResult> {
    return execute(this.dockerPath, args, options)
  }

  buildx(args: string[], options: RunOptions = {}): Promise<ExecResult> {
    return this.buildxPath
      ? execute(this.buildxPath, args, options)
      : execute(this.dockerPath, ['buildx', ...args], options)
  }
}

async function execute(tool: string, args: string[], options: RunOptions): Promise<ExecResult> {
  const env = options.env ? { ...(process.env as Record<string, string>), ...options.env } : undefined
  let result: ExecResult
  try {
    result = await exec.getExecOutput(tool, args, {
      ignoreReturnCode: true,
      silent: options.silent ?? false,
      input: options.input === undefined ? undefined : Buffer.from(options.input),
      env
    })
  } catch (e: unknown) {
    // exec rejects when the binary cannot be started at all (not on PATH).
    throw new DockerCommandError(commandLine(tool, args), 127, `${tool}: ${(e as Error).message ?? e}`)
  }
  if (result.exitCode !== 0 && !options.allowFailure) {
    throw new DockerCommandError(commandLine(tool, args), result.exitCode, result.stderr || result.stdout)
  }
  return result
}

export function commandLine(tool: string, args: string[]): string {
  const name = tool === 'docker' || tool.endsWith('/docker') ? 'docker' : tool.split('/').pop()
  return [name, ...args].join(' ')
}
