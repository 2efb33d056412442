import type { Context, Hono } from 'hono';
import type { AppEnv } from '../../../kernel/app.js';
import type { User } from '../api.js';
import { Notice, Pager, pageNumber, problemMessage } from '../layout.js';
import { pageStatusOf, render } from '../render.js';
import { visitOf, type Storefront, type Visit } from '../visit.js';

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
    answer.ok ? 200 : pageStatusOf(answer.problem.status),
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
