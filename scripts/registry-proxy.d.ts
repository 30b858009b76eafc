export interface SeenRequest {
  method: string
  url: string
  userAgent: string
  authorized: boolean
  /** Status the proxy answered itself (0: the connection was reset), or undefined when forwarded. */
  faulted?: number
}

export interface Fault {
  /** Which requests this fault is for. */
  match: (r: SeenRequest) => boolean
  /** How many of them get the fault; the rest are forwarded. */
  times: number
  status: number
  body?: string
  headers?: Record<string, string>
}

export declare class RegistryProxy {
  constructor(upstream: string, faults?: Fault[])
  readonly requests: SeenRequest[]
  host: string
  port: number
  /** How long the last outage lasted, once it is over. */
  downMs?: number
  start(): Promise<this>
  close(): Promise<void>
  restartOn(match: (r: SeenRequest) => boolean, forMs: number): this
  get faulted(): SeenRequest[]
}
