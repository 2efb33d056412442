import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../../kernel/app.js';
import type { User } from '../api.js';
import { Notice, problemMessage } from '../layout.js';
import { render } from '../render.js';
import { visitOf, type Storefront, type Visit } from '../visit.js';

/** `?page=N` of a listing: a whole number from 1, else the first page. */
export function pageNumber(c: Context): number {
  const page = Number(c.req.query('page'));
  return Number.isInteger(page) && page >= 1 ? page : 1;
}

/** Previous / next links of a listing whose only state is `?page`; nothing when it fits in one page. */
export function Pager(props: { visit: Visit; path: string; page: number; total: number; limit: number }) {
  const { t } = props.visit.locale;
  const pages = Math.max(1, Math.ceil(props.total / props.limit));
  if (pages <= 1 && props.page <= 1) return null;
  const { path, page } = props;
  return (
    <nav aria-label={t.pagination} class="pagination">
      {page > 1 ? <a href={`${path}?page=${page - 1}`} rel="prev">{t.previous}</a> : null}
      <span>{t.pageOf(page, pages)}</span>
      {page < pages ? <a href={`${path}?page=${page + 1}`} rel="next">{t.next}</a> : null}
    </nav>
  );
}

export function adminRoutes(app: Hono<AppEnv>, storefront: Storefront): void {
  app.get('/admin', async (c) => {
    const visit = await visitOf(c, storefront);
    const { t } = visit.locale;
    if (!visit.user) return c.redirect(`/sign-in?back=${encodeURIComponent(visit.here)}`);
    if (visit.user.role !== 'admin') {
      return render(c, visit, t.admin, <><h1>{t.admin}</h1><p>{t.adminOnly}</p></>, 403);
    }
    return usersPage(c, visit);
  });
}

async function usersPage(c: Context, visit: Visit): Promise<Response> {
  const { t } = visit.locale;
  const page = pageNumber(c);
  const answer = await visit.api.users(page);
  return render(
    c,
    visit,
    t.users,
    <>
      <h1 id="users-heading">{t.users}</h1>
      {/* The queue board is the purchase module's own admin page (bull-board), not a storefront page. */}
      <p>
        <a href="/api/purchase/admin/queues">{t.queueBoard}</a>
      </p>
      {answer.ok ? (
        <>
          <UserTable visit={visit} users={answer.data.items} />
          <Pager visit={visit} path="/admin" page={page} total={answer.data.total} limit={answer.data.limit} />
        </>
      ) : (
        <Notice kind="error">{problemMessage(visit, answer.problem)}</Notice>
      )}
    </>,
    answer.ok ? 200 : (answer.problem.status as ContentfulStatusCode),
  );
}

function UserTable({ visit, users }: { visit: Visit; users: User[] }) {
  const { t, dateTime } = visit.locale;
  return (
    <table aria-labelledby="users-heading">
      <thead>
        <tr>
          <th scope="col">{t.name}</th>
          <th scope="col">{t.email}</th>
          <th scope="col">{t.role}</th>
          <th scope="col">{t.joined}</th>
        </tr>
      </thead>
      <tbody>
        {users.map((user) => (
          <tr>
            <td>{user.name}</td>
            <td>{user.email}</td>
            <td>{user.role}</td>
            <td>{dateTime(user.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
