import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { App } from 'antd';
import { api, isApiError, onUnauthorized, tokenStore } from './api/client.ts';
import type { LoginResponse, Me } from './api/types.ts';
import { useI18n } from './i18n/index.tsx';
import { FullPageSpin } from './components/FullPageSpin.tsx';

const TENANT_KEY = 'stride.tenant';

interface AuthValue {
  me: Me | null;
  isAdmin: boolean;
  lastTenant: string;
  login: (tenant: string, username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [booting, setBooting] = useState<boolean>(() => !!tokenStore.get());
  const navigate = useNavigate();
  const location = useLocation();
  const { message } = App.useApp();
  const { t } = useI18n();
  const locRef = useRef(location);
  locRef.current = location;
  const expiredShown = useRef(0);

  // Any 401 (expired, revoked or forged token) sends the user back to the login page,
  // remembering where they were.
  useEffect(() => {
    onUnauthorized(() => {
      const hadSession = !!tokenStore.get();
      tokenStore.clear();
      setMe(null);
      const l = locRef.current;
      if (l.pathname !== '/login') {
        if (hadSession && Date.now() - expiredShown.current > 3000) {
          expiredShown.current = Date.now();
          message.warning(t('login.expired'));
        }
        navigate('/login', { replace: true, state: { from: l.pathname + l.search } });
      }
    });
    return () => onUnauthorized(null);
  }, [navigate, message, t]);

  useEffect(() => {
    if (!tokenStore.get()) return;
    let cancelled = false;
    api
      .get<Me>('me')
      .then((u) => !cancelled && setMe(u))
      .catch((e) => {
        if (!cancelled && !(isApiError(e) && e.status === 401)) message.error((e as Error).message);
      })
      .finally(() => !cancelled && setBooting(false));
    return () => {
      cancelled = true;
    };
  }, [message]);

  const login = useCallback(async (tenant: string, username: string, password: string) => {
    const res = await api.post<LoginResponse>('auth/login', { tenant, username, password }, { anonymous: true });
    tokenStore.set(res.token);
    localStorage.setItem(TENANT_KEY, tenant);
    // The login answer carries the user, but /me is the canonical shape (roles, teams).
    const user = await api.get<Me>('me').catch(() => res.user ?? null);
    setMe(user ?? { id: '', username, roles: [] });
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.post('auth/logout', undefined, { anonymous: false });
    } catch {
      // The token is dropped locally whatever the server says.
    }
    tokenStore.clear();
    setMe(null);
    navigate('/login', { replace: true });
  }, [navigate]);

  const value = useMemo<AuthValue>(
    () => ({
      me,
      isAdmin: !!me?.roles?.includes('admin'),
      lastTenant: localStorage.getItem(TENANT_KEY) || 'demo',
      login,
      logout,
    }),
    [me, login, logout],
  );

  if (booting) return <FullPageSpin />;
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

export function RequireAuth({ children }: { children: ReactNode }) {
  const { me } = useAuth();
  const location = useLocation();
  if (!me) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}
