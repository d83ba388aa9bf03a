import { betterAuth } from "better-auth";
import { admin, bearer, jwt } from "better-auth/plugins";
const id = process.env.BA_ID;
export const auth = betterAuth({
  emailAndPassword: { enabled: true },
  advanced: { database: id ? { generateId: id } : {} },
  plugins: [jwt(), admin(), bearer()],
});
