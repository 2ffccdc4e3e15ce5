// One run at a time: a call during a run asks for one more run after it (never a queue),
// so a burst of blocks costs at most two reloads.
export function serial(run: () => Promise<void>, what: string): () => void {
  let busy = false;
  let again = false;
  const go = () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    run().catch((err: Error) => console.warn(`${what}: ${err.message}`)).finally(() => {
      busy = false;
      if (again) {
        again = false;
        go();
      }
    });
  };
  return go;
}
