import * as exec from '@actions/exec'
import * as fs from 'node:fs'
import * as path from 'node:path'
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

  /** Calls made but whose process has not started yet. */
  private starting = 0
  private markSpawned: () => void = () => undefined
  /**
   * Settles once docker processes run and no call is waiting to start. CPU-bound work that can
   * wait (loading the releases client) starts after it, so it overlaps docker instead of
   * delaying the start of a call made at the same time.
   */
  readonly spawned = new Promise<void>(resolve => (this.markSpawned = resolve))

  private readonly dockerPath: string

  constructor(docker = 'docker') {
    // Found on PATH once, not by every call (@actions/exec looks up a bare name each time).
    this.dockerPath = onPath(docker) ?? docker
  }

  run(args: string[], options: RunOptions = {}): Promise<ExecResult> {
    return this.execute(this.dockerPath, args, options)
  }

  buildx(args: string[], options: RunOptions = {}): Promise<ExecResult> {
    return this.buildxPath ? this.execute(this.buildxPath, args, options) : this.execute(this.dockerPath, ['buildx', ...args], options)
  }

  private async execute(tool: string, args: string[], options: RunOptions): Promise<ExecResult> {
    const env = options.env ? { ...(process.env as Record<string, string>), ...options.env } : undefined
    this.starting++
    let started = false
    const start = (): void => {
      if (started) return
      started = true
      if (--this.starting === 0) this.markSpawned()
    }
    let result: ExecResult
    try {
      result = await exec.getExecOutput(tool, args, {
        ignoreReturnCode: true,
        silent: options.silent ?? false,
        input: options.input === undefined ? undefined : Buffer.from(options.input),
        env,
        // @actions/exec reports a call's first debug line in the same synchronous run as the
        // spawn, so whatever awaits `spawned` runs after the process has started.
        listeners: { debug: start }
      })
    } catch (e: unknown) {
      // exec rejects when the binary cannot be started at all (not on PATH).
      throw new DockerCommandError(commandLine(tool, args), 127, `${tool}: ${(e as Error).message ?? e}`)
    } finally {
      start()
    }
    return checked(tool, args, options, result)
  }
}

/** The executable a bare command name runs, from PATH; undefined when none is there (exec then says so). */
export function onPath(command: string, searchPath = process.env.PATH ?? ''): string | undefined {
  if (command.includes('/')) return undefined
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, command)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      if (fs.statSync(candidate).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

function checked(tool: string, args: string[], options: RunOptions, result: ExecResult): ExecResult {
  if (result.exitCode !== 0 && !options.allowFailure) {
    throw new DockerCommandError(commandLine(tool, args), result.exitCode, result.stderr || result.stdout)
  }
  return result
}

export function commandLine(tool: string, args: string[]): string {
  const name = tool === 'docker' || tool.endsWith('/docker') ? 'docker' : tool.split('/').pop()
  return [name, ...args].join(' ')
}
