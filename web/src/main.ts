// The page's entry: register the pages, then start the shell (README, "The web wallet").
import { setNodeOrigin } from './api.js';
import { route } from './router.js';
import { startShell } from './shell.js';
import { homePage } from './explorer/home.js';
import { blockPage } from './explorer/block.js';
import { txPage } from './explorer/tx.js';
import { accountPage, disputePage } from './explorer/account.js';
import { chainPage } from './explorer/chain.js';
import { marketsPage } from './explorer/markets.js';
import { marketPage } from './explorer/market.js';
import { registerWalletPages } from './wallet/index.js';

route('/', homePage, 'Explorer');
route('/block/:height', blockPage);
route('/tx/:id', txPage);
route('/account/:name', accountPage);
route('/dispute/:id', disputePage);
route('/chain', chainPage, 'Chain');
route('/markets', marketsPage, 'Markets');
route('/market/:id', marketPage);
registerWalletPages();

// A page hosted elsewhere is pointed at its node once with ?node=https://node.example.org
// (the node must allow this page's origin: --cors-origin); the choice is kept.
const nodeParam = new URLSearchParams(location.search).get('node');
if (nodeParam) {
  try {
    setNodeOrigin(nodeParam);
  } catch {
    console.warn(`?node=${nodeParam} is not a URL; using ${location.origin}`);
  }
}

void startShell(document.getElementById('app')!);
