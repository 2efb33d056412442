import type { ModuleContext } from '../../kernel/module.js';
import { Problem } from '../../kernel/problem.js';
import { authApi } from '../auth/client.js';
import { demoBooks, demoSellers } from './demo-data.js';
import { Book, BookWord } from './entities.js';
import { searchWords } from './words.js';

const DAY = 24 * 60 * 60 * 1000;

/** Sellers live in the auth module, which may still be starting in another process: wait for it. */
async function ensureSellers(ctx: ModuleContext): Promise<number[]> {
  const auth = authApi(ctx.clients);
  for (let attempt = 1; ; attempt++) {
    try {
      const ids: number[] = [];
      for (const seller of demoSellers) ids.push((await auth.ensureSeller(seller)).id);
      return ids;
    } catch (error) {
      if (!(error instanceof Problem) || error.status !== 503 || attempt >= 30) throw error;
      ctx.logger.info({ attempt }, 'demo seed: waiting for the auth service');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Fills an empty catalog with the demo books, spread over the last months so "newest" means something. */
export async function seedDemoCatalog(ctx: ModuleContext): Promise<void> {
  const em = ctx.db.em.fork();
  if ((await em.count(Book, {})) > 0) return;
  const sellerIds = await ensureSellers(ctx);
  const now = Date.now();
  await em.transactional(async (tx) => {
    const books = demoBooks.map((demo, index) => {
      const listedAt = new Date(now - (demoBooks.length - index) * 0.37 * DAY);
      return tx.create(Book, {
        title: demo.title,
        author: demo.author,
        description: demo.description,
        isbn: demo.isbn,
        priceCents: demo.priceCents,
        stock: demo.stock,
        sellerId: sellerIds[demo.sellerIndex]!,
        createdAt: listedAt,
        updatedAt: listedAt,
      });
    });
    await tx.flush();
    const words = books.flatMap((book) => searchWords(`${book.title} ${book.author}`).map((word) => ({ word, bookId: book.id })));
    await tx.insertMany(BookWord, words);
  });
  ctx.logger.info({ books: demoBooks.length, sellers: sellerIds.length }, 'demo catalog seeded');
}
