// The name and version the proxy presents to clients when it speaks for several upstreams.

export const PROXY_INFO = { name: 'portcullis', version: '0.1.0' } as const;
