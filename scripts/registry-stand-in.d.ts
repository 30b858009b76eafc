export interface RegistryStandIn {
  /** host:port on loopback. */
  host: string
  /** `METHOD /path` of every request, in order. */
  requests: string[]
  /** tag → the manifest PUT under it. */
  tags: Map<string, string>
  close(): Promise<void>
}

export declare function startRegistryStandIn(options: { repository: string; index: string; username: string; password: string }): Promise<RegistryStandIn>
