// The wallet's pages (keys, send, receive, statements, disputes, tickets, trade): README, "The web
// wallet". Keys live in this browser (IndexedDB, WebCrypto); only signed envelopes, public
// keys and account ids go to the node.
import { route } from '../router.js';
import { walletPage } from './account.js';
import { disputesPage } from './disputes.js';
import { receivePage } from './receive.js';
import { sendPage } from './send.js';
import { statementsPage } from './statements.js';
import { ticketsPage } from './tickets.js';
import { tradePage } from './trade.js';

export function registerWalletPages(): void {
  route('/wallet', walletPage, 'Wallet');
  route('/wallet/send', sendPage);
  route('/wallet/receive', receivePage);
  route('/wallet/statements', statementsPage);
  route('/wallet/disputes', disputesPage);
  route('/wallet/tickets', ticketsPage);
  route('/wallet/trade', tradePage);
}
