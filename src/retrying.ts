import { commandLine, type Docker, type ExecResult, type RunOptions } from './docker.js'
import { DockerCommandError } from './errors.js'
import { classifyFailure, withRetry, type RetryOptions } from './retry.js'

/**
 * Registry calls that are safe to repeat: they read, or write the same thing again
 * (a login, an index created under the same tags). A build is not among them: it is
 * never blindly repeated.
 */
export function isRetryable(tool: 'docker' | 'buildx', args: string[]): boolean {
  if (tool === 'buildx') return args[0] === 'imagetools'
  return args[0] === 'login' || args[0] === 'pull'
}

/** A Docker whose retryable registry calls survive transient failures (5xx, 429, resets, a restarting registry). */
export function retrying(docker: Docker, options: RetryOptions): Docker {
  const wrap =
    (tool: 'docker' | 'buildx', call: (args: string[], runOptions?: RunOptions) => Promise<ExecResult>) =>
    async (args: string[], runOptions: RunOptions = {}): Promise<ExecResult> => {
      if (!isRetryable(tool, args)) return call(args, runOptions)
      let last: ExecResult | undefined
      try {
        return await withRetry(
          commandLine(tool === 'docker' ? 'docker' : 'docker buildx', args.slice(0, 2)),
          async () => {
            last = await call(args, { ...runOptions, allowFailure: true })
            if (last.exitCode === 0) return last
            const error = new DockerCommandError(commandLine(tool === 'docker' ? 'docker' : 'docker buildx', args), last.exitCode, last.stderr || last.stdout)
            // A permanent failure is the caller's to handle as it asked: thrown, or returned.
            if (!classifyFailure(last.stderr || last.stdout).transient && runOptions.allowFailure) return last
            throw error
          },
          options
        )
      } catch (e: unknown) {
        if (runOptions.allowFailure && last && e instanceof DockerCommandError) return last
        throw e
      }
    }
  return { run: wrap('docker', (a, o) => docker.run(a, o)), buildx: wrap('buildx', (a, o) => docker.buildx(a, o)) }
}
