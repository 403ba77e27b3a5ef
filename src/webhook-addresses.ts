// Where webhooks may send: a URL is `https` (or `http` with WEBHOOK_ALLOW_HTTP), carries no
// credentials, and its host reaches public addresses only: loopback, private, carrier-grade NAT,
// link-local (cloud metadata at 169.254.169.254 among them), unique-local, multicast, documentation
// and other special ranges are refused, unless WEBHOOK_ALLOWED_HOSTS names the host or covers the
// address. Checked twice: when a webhook is PUT (every address the host resolves to), and at each
// connection through `lookup`, the resolver the webhook sink's HTTP agent connects with, so a
// host that resolves elsewhere after the PUT (DNS rebinding) is refused all the same.
import { type LookupAddress, type LookupOptions, lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { GatewayError } from './errors.ts';

const SPECIAL_V4 = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8',
  '100.64.0.0/10', // carrier-grade NAT (and some clouds' metadata, 100.100.100.200)
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, cloud metadata 169.254.169.254
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
];
const SPECIAL_V6 = [
  '::/127', // unspecified, loopback
  '64:ff9b::/96', // NAT64: an IPv4 address in disguise
  '64:ff9b:1::/48',
  '100::/64', // discard
  '2001::/23', // IETF protocol assignments (Teredo among them)
  '2001:db8::/32', // documentation
  '2002::/16', // 6to4: an IPv4 address in disguise
  'fc00::/7', // unique local (fd00:ec2::254, a cloud metadata address)
  'fe80::/10', // link-local
  'ff00::/8', // multicast
];

function subnets(list: BlockList, cidrs: string[], family: 'ipv4' | 'ipv6'): void {
  for (const c of cidrs) {
    const [net, bits] = c.split('/') as [string, string];
    list.addSubnet(net, Number(bits), family);
  }
}

const SPECIAL = new BlockList();
subnets(SPECIAL, SPECIAL_V4, 'ipv4');
subnets(SPECIAL, SPECIAL_V6, 'ipv6');

/** `::ffff:10.0.0.1` (an IPv4-mapped IPv6 address) is 10.0.0.1. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1] as string, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** The hostname of a URL without IPv6 brackets, lower case. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

export function refused(detail: string): GatewayError {
  return new GatewayError('GW_WEBHOOK_URL_REFUSED', detail, { errors: [{ pointer: '/url', message: detail }] });
}

export class WebhookAddressPolicy {
  readonly allowHttp: boolean;
  readonly #hosts = new Set<string>();
  readonly #addresses = new BlockList();

  /** `allowed`: WEBHOOK_ALLOWED_HOSTS. Throws on an entry that is neither a host nor an address or CIDR. */
  constructor(allowed: string, allowHttp: boolean) {
    this.allowHttp = allowHttp;
    for (const raw of allowed.split(',')) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      const [net, bits, extra] = entry.split('/');
      const family = isIP(net ?? '');
      if (family !== 0) {
        const max = family === 4 ? 32 : 128;
        const prefix = bits === undefined ? max : Number(bits);
        if (extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
          throw new Error(`WEBHOOK_ALLOWED_HOSTS: "${raw.trim()}" is not an address or CIDR`);
        }
        this.#addresses.addSubnet(net as string, prefix, family === 4 ? 'ipv4' : 'ipv6');
      } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry)) {
        this.#hosts.add(entry);
      } else {
        throw new Error(`WEBHOOK_ALLOWED_HOSTS: "${raw.trim()}" is neither a host name nor an address or CIDR`);
      }
    }
  }

  /** True when the gateway may connect to `address` for `host`. */
  allows(host: string, address: string): boolean {
    if (this.#hosts.has(host.toLowerCase())) return true;
    const a = unmapped(address);
    if (this.#addresses.check(a.address, a.family)) return true;
    return !SPECIAL.check(a.address, a.family);
  }

  /** The URL's form: scheme, no credentials, a host. Throws GW_WEBHOOK_URL_REFUSED. */
  parse(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw refused('The webhook URL is not a valid absolute URL');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.allowHttp)) {
      throw refused(
        this.allowHttp ? 'The webhook URL must be http:// or https://' : 'The webhook URL must be https:// (WEBHOOK_ALLOW_HTTP is off)',
      );
    }
    if (url.username !== '' || url.password !== '') throw refused('The webhook URL must not carry credentials');
    if (url.hostname === '') throw refused('The webhook URL has no host');
    return url;
  }

  /** Parses and resolves the URL: every address of its host must be allowed. Throws GW_WEBHOOK_URL_REFUSED. */
  async check(raw: string): Promise<URL> {
    const url = this.parse(raw);
    const host = hostOf(url);
    if (this.#hosts.has(host)) return url;
    let addresses: LookupAddress[];
    if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
    else {
      try {
        addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
          dnsLookup(host, { all: true }, (err, found) => (err ? reject(err) : resolve(found))),
        );
      } catch (err) {
        throw refused(`The webhook host "${host}" does not resolve (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'})`);
      }
    }
    const bad = addresses.find((a) => !this.allows(host, a.address));
    if (bad) {
      throw refused(
        `The webhook host "${host}" resolves to ${bad.address}, a loopback, private, link-local or metadata address (allow it with WEBHOOK_ALLOWED_HOSTS)`,
      );
    }
    return url;
  }

  /** An address literal in a URL is never looked up at connect time: check it here. */
  checkLiteral(url: URL): void {
    const host = hostOf(url);
    if (isIP(host) !== 0 && !this.allows(host, host)) throw refused(`The webhook address ${host} is not allowed`);
  }

  /**
   * A `lookup` for node:net (an HTTP agent's `lookup` option): resolves like dns.lookup and fails
   * the connection when an address it would use is not allowed.
   */
  readonly lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, found) => {
      if (err) return callback(err, '', 0);
      const usable = found.filter((a) => this.allows(hostname, a.address));
      if (usable.length === 0) {
        const e: NodeJS.ErrnoException = new Error(
          `refused: ${hostname} resolves to ${found.map((a) => a.address).join(', ') || 'nothing'}, not an allowed address`,
        );
        e.code = 'EADDRNOTALLOWED';
        return callback(e, '', 0);
      }
      if (options.all) return callback(null, usable);
      const first = usable[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}
