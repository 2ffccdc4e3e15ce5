// The wallet's pages (keys, send, receive, statements, disputes, tickets). Placeholders:
// the wallet work fills them in. A page is a function of a PageContext returning DOM
// (see ../router.ts); register more with route() here, nothing else needs to change.
import { h } from '../h.js';
import { route } from '../router.js';

const placeholder = (title: string) => () => h('div', {}, h('h1', {}, title), h('p', {}, 'Coming soon.'));

export function registerWalletPages(): void {
  route('/wallet', placeholder('Wallet'), 'Wallet');
  route('/wallet/send', placeholder('Send'));
  route('/wallet/receive', placeholder('Receive'));
  route('/wallet/tickets', placeholder('Tickets'));
}
