// The Monero payment URI a wallet opens or scans (the BIP21-style scheme of Monero's
// wallets): monero:<address>?tx_amount=<XMR>&tx_description=<text>. The address is the
// PID's integrated address, so the payment id travels inside it; the amount is decimal XMR.
import { formatAmount, parseAmount } from '../../core/amount.js';
import { MONERO_DECIMALS } from './config.js';

export function moneroPaymentUri(integratedAddress: string, options: { amount?: string; description?: string } = {}): string {
  const query: string[] = [];
  // Normalized through the 12-decimal parser: "1.50" -> "1.5", and anything else is refused.
  if (options.amount !== undefined) query.push(`tx_amount=${formatAmount(parseAmount(options.amount, MONERO_DECIMALS, 'amount'), MONERO_DECIMALS)}`);
  if (options.description) query.push(`tx_description=${encodeURIComponent(options.description)}`);
  return `monero:${integratedAddress}${query.length ? `?${query.join('&')}` : ''}`;
}
