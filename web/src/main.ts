// The page's entry: register the pages, then start the shell (README, "The web wallet").
import { route } from './router.js';
import { startShell } from './shell.js';
import { homePage } from './explorer/home.js';
import { blockPage } from './explorer/block.js';
import { txPage } from './explorer/tx.js';
import { accountPage, disputePage } from './explorer/account.js';
import { chainPage } from './explorer/chain.js';
import { registerWalletPages } from './wallet/index.js';

route('/', homePage, 'Explorer');
route('/block/:height', blockPage);
route('/tx/:id', txPage);
route('/account/:name', accountPage);
route('/dispute/:id', disputePage);
route('/chain', chainPage, 'Chain');
registerWalletPages();

void startShell(document.getElementById('app')!);
