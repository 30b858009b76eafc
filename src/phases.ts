import * as core from '@actions/core'

export interface PhaseLog {
  info(message: string): void
  warning(message: string, properties?: core.AnnotationProperties): void
}

const live: PhaseLog = {
  info: message => core.info(message),
  warning: (message, properties) => core.warning(message, properties)
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`
}

/** One collapsible log group with its duration; output streams as it happens. */
export async function phase<T>(name: string, fn: (log: PhaseLog) => Promise<T>): Promise<T> {
  const started = Date.now()
  return core.group(name, async () => {
    try {
      return await fn(live)
    } finally {
      core.info(`${name}: ${seconds(started)}`)
    }
  })
}

/** A log whose lines wait until flush(): for work whose output belongs after what runs meanwhile. */
export function heldLog(): { log: PhaseLog; flush(into?: PhaseLog): void } {
  const lines: Array<(into: PhaseLog) => void> = []
  return {
    log: {
      info: message => lines.push(into => into.info(message)),
      warning: (message, properties) => lines.push(into => into.warning(message, properties))
    },
    flush: (into = live) => {
      for (const line of lines.splice(0)) line(into)
    }
  }
}

export interface ConcurrentPhase {
  name: string
  run(log: PhaseLog): Promise<void>
}

/**
 * Runs independent phases at the same time (QEMU install and login need not
 * wait for the builder to boot). Groups cannot interleave in the log, so each
 * phase's lines are held and printed as its own group once all have settled;
 * the first failure is then rethrown.
 */
export async function concurrently(phases: ConcurrentPhase[]): Promise<void> {
  const held = phases.map(() => heldLog())
  const durations: string[] = []
  const results = await Promise.allSettled(
    phases.map(async (p, i) => {
      const started = Date.now()
      try {
        await p.run(held[i].log)
      } finally {
        durations[i] = seconds(started)
      }
    })
  )
  phases.forEach((p, i) => {
    core.startGroup(p.name)
    held[i].flush()
    const result = results[i]
    if (result.status === 'rejected') core.info(`${p.name} failed`)
    core.info(`${p.name}: ${durations[i]}`)
    core.endGroup()
  })
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
}
